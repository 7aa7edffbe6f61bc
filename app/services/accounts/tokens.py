"""API bearer tokens.

A token is shown once, when created; only its SHA-256 is stored, so a copy of the database
cannot be used to call the API. SHA-256 (not a slow password hash) is enough here because the
token carries 256 random bits: there is nothing to guess, only something to look up.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from flask import request
from flask_login import current_user
from sqlalchemy import select, update

from app.errors import NotFound
from app.extensions import db
from app.models import ApiToken, User

TOKEN_PREFIX = "dc_"
# secrets.token_urlsafe(32) gives 43 characters; anything far longer is not one of ours and
# is refused before it costs a query.
MAX_TOKEN_LENGTH = 200
# Recording every use would turn each API read into a write; once a minute says enough about
# whether a token is still in use.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def add_token(user_id: int) -> tuple[ApiToken, str]:
    """Add a new token for the user to the session (not committed) and return it with the raw
    value, which is never stored and so can be shown only now."""
    if db.session.get(User, user_id) is None:
        raise NotFound(f"no user with id {user_id}")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user_id, token_hash=hash_token(raw), prefix=raw[:8])
    db.session.add(token)
    db.session.flush()
    return token, raw


def create_token(user_id: int) -> str:
    """Store a new token for the user and return it; this is the only time it can be seen.

    Commits, so the token works as soon as the caller has shown it.
    """
    _token, raw = add_token(user_id)
    db.session.commit()
    return raw


def revoke_user_tokens(user_id: int) -> int:
    """Revoke every live token of the user (for a leaked token or a departing person); commits.
    Returns how many were revoked."""
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    db.session.commit()
    return result.rowcount or 0


def _well_formed(raw: str) -> bool:
    return (
        raw.startswith(TOKEN_PREFIX)
        and len(raw) <= MAX_TOKEN_LENGTH
        and raw.isascii()
        and raw.isprintable()
        and " " not in raw
    )


def user_for_token(raw: str | None) -> User | None:
    """The active user a live token belongs to, or None.

    The lookup is by hash, so timing can at most leak bits of a hash, never of the token; the
    final compare_digest keeps even that comparison constant-time. May commit (to record the
    token's use), so call it before making changes of your own in the session.
    """
    if not raw or not _well_formed(raw):
        return None
    digest = hash_token(raw)
    token = db.session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    if token.revoked_at is not None:
        return None
    user = token.user
    if user is None or not user.is_active:
        return None
    now = datetime.now(UTC)
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.commit()
    return user


def bearer_token_from_header() -> str | None:
    """The token of an `Authorization: Bearer ...` header; "" when a header is there but is not
    a bearer token (so callers can tell "no credentials" from "bad credentials"); None when
    there is no header."""
    header = request.headers.get("Authorization")
    if header is None or not header.strip():
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return value.strip()


def api_user() -> User | None:
    """The user of the request's bearer token, or None."""
    raw = bearer_token_from_header()
    return user_for_token(raw) if raw else None


def authenticate_api_request() -> tuple[User | None, str | None]:
    """Who is calling the API, and how: (user, "bearer" | "session" | None).

    A request that carries an Authorization header is judged on that header alone, even if it
    also has a session cookie: a script sending a bad token should get 401, not quietly act
    as whoever is logged in in the same browser. So any header that does not name a live
    token gives (None, "bearer").
    """
    raw = bearer_token_from_header()
    if raw is not None:
        return (user_for_token(raw) if raw else None), "bearer"
    if current_user.is_authenticated:
        return current_user._get_current_object(), "session"
    return None, None
