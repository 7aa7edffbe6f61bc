"""Everything the app signs honours key rotation.

Rule: SECRET_KEY signs; every key in SECRET_KEY_FALLBACKS still verifies, so rotating the key
(README, "Rotating SECRET_KEY") logs nobody out and breaks no link already sent:

- the session cookie (Flask itself reads SECRET_KEY_FALLBACKS);
- the "remember me" cookie (flask-login checks SECRET_KEY only: `RotatingLoginManager` tries
  the old keys too, and a cookie signed with one is re-issued under the new key at once);
- the known-device cookie, unsubscribe links and email verification links (`serializer`).

A value signed with a key that is in neither setting is refused as if it had been altered.
"""

from __future__ import annotations

from flask import current_app, session
from flask_login import LoginManager
from flask_login.utils import decode_cookie, encode_cookie
from itsdangerous import URLSafeSerializer, URLSafeTimedSerializer


def signing_keys() -> list[str | bytes]:
    """Oldest first, the current key last: itsdangerous signs with the last and verifies with all."""
    config = current_app.config
    return [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]


def serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(signing_keys(), salt=salt)


def timed_serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_keys(), salt=salt)


class RotatingLoginManager(LoginManager):
    """flask-login's manager, with "remember me" cookies signed by a fallback key accepted."""

    def _load_user_from_remember_cookie(self, cookie):
        user = super()._load_user_from_remember_cookie(cookie)
        if user is not None:
            return user
        for key in current_app.config.get("SECRET_KEY_FALLBACKS") or []:
            payload = decode_cookie(cookie, key=key)
            if payload is None:
                continue
            # The same loading as a current cookie (the session version check included).
            user = super()._load_user_from_remember_cookie(encode_cookie(payload))
            if user is not None:
                session["_remember"] = "set"  # re-issued under SECRET_KEY with this response
            return user
        return None
