"""Known devices: the browser a person has logged in with before.

A successful log-in leaves a signed cookie (`dc_device`, HttpOnly, `KNOWN_DEVICE_DAYS` long)
holding a random device id and the ids of the accounts that logged in with it (the last
`MAX_ACCOUNTS`). On that browser, failed log-ins to one of those accounts count in a bucket of
the device's own instead of the account's shared one (app/services/support/throttle.py): a stranger
hammering the account uses up the shared bucket and is refused, while the owner, on a device
they have used, still gets in. The cookie is signed (app.signing: SECRET_KEY, old keys in
SECRET_KEY_FALLBACKS still verify), so it cannot be made up for an account; a stolen one gives
a thief no more guesses than the limit per device.
"""

from __future__ import annotations

import secrets

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

from app.signing import serializer

COOKIE_NAME = "dc_device"
MAX_ACCOUNTS = 10
_SALT = "deltacrown-known-device"


def _serializer() -> URLSafeSerializer:
    return serializer(_SALT)


def _read() -> tuple[str, list[int]] | None:
    raw = request.cookies.get(COOKIE_NAME)
    if not raw or len(raw) > 1000:
        return None
    try:
        data = _serializer().loads(raw)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("d"), str) or not isinstance(data.get("u"), list):
        return None
    return data["d"], [u for u in data["u"] if isinstance(u, int)]


def known_device(user_id: int | None) -> str | None:
    """The id of this browser when it has logged in to `user_id` before, else None."""
    found = _read()
    if found is None or user_id is None or user_id not in found[1]:
        return None
    return found[0]


def remember_device(response: Response, user_id: int) -> None:
    """After a successful log-in: this browser is now known to the account."""
    found = _read()
    device, accounts = found if found is not None else (secrets.token_urlsafe(16), [])
    accounts = [u for u in accounts if u != user_id][-(MAX_ACCOUNTS - 1) :] + [user_id]
    response.set_cookie(
        COOKIE_NAME,
        _serializer().dumps({"d": device, "u": accounts}),
        max_age=int(current_app.config.get("KNOWN_DEVICE_DAYS") or 365) * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        path=current_app.config.get("SESSION_COOKIE_PATH") or "/",
    )
