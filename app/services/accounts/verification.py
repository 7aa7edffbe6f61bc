"""Whether an account's email address is confirmed, and the signed links that confirm it.

Rules:
- While NOTIFICATIONS_EMAIL_ENABLED is off (the default) nothing can be emailed, so every account
  counts as verified. While it is on, an account signed up by a player is verified once its
  owner follows the link emailed to the address (`users.email_verified_at`); accounts made by an
  admin (CLI, portal) are verified from the start, and so are accounts from before this rule.
- An unverified account can log in but cannot join a team or register (`require_verified`):
  otherwise anybody could sign up with someone else's address and have team mail sent there.
- The link carries the account id and address, signed with SECRET_KEY and valid for
  EMAIL_VERIFICATION_MAX_AGE seconds; a link for an address the account no longer has is void.
- These emails are sent at once, not through the notification outbox: the person is waiting for
  the link. A mail server that cannot be reached is logged, and the answer to the person is the
  same (they can ask for the link again from their teams page).
"""

from __future__ import annotations

from flask import current_app, render_template, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.errors import PermissionDenied, ValidationError
from app.extensions import db
from app.mailer import OutgoingMessage, send
from app.models import User, utcnow
from app.signing import timed_serializer

_SALT = "deltacrown-verify-email"

NOT_VERIFIED = (
    "Confirm your email address first: follow the link we emailed to you. "
    "No email? Send a new link from your teams page."
)


def email_enabled() -> bool:
    return bool(current_app.config.get("NOTIFICATIONS_EMAIL_ENABLED"))


def is_verified(user: User) -> bool:
    return not email_enabled() or user.email_verified_at is not None


def require_verified(user: User) -> None:
    """Refuse (403) what an account with an unconfirmed address may not do yet."""
    if not is_verified(user):
        raise PermissionDenied(NOT_VERIFIED)


def _serializer() -> URLSafeTimedSerializer:
    return timed_serializer(_SALT)


def make_token(user: User) -> str:
    return _serializer().dumps({"u": user.id, "e": user.email})


def confirm(token: str) -> User:
    """Mark the account of a valid link verified (commits); ValidationError for any other link."""
    max_age = int(current_app.config.get("EMAIL_VERIFICATION_MAX_AGE") or 3 * 24 * 3600)
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise ValidationError("This confirmation link has expired. Log in and send yourself a new one.") from None
    except BadSignature:
        raise ValidationError("This confirmation link is not valid. Check that you copied all of it.") from None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) and isinstance(data.get("u"), int) else None
    if user is None or user.email != data.get("e"):
        raise ValidationError("This confirmation link is for an address that is no longer on any account.")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        db.session.commit()
    return user


def _absolute(endpoint: str, **values) -> str:
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return base + url_for(endpoint, **values)


def _send(user: User, subject: str, template: str, **context) -> None:
    context = {"name": user.display_name or user.email, "email": user.email, **context}
    msg = OutgoingMessage(
        subject=subject,
        recipients=[user.email],
        body=render_template(f"email/account/{template}.txt", **context),
        html=render_template(f"email/account/{template}.html", subject=subject, **context),
        extra_headers={"Auto-Submitted": "auto-generated"},
    )
    try:
        send(msg)
    except Exception as exc:  # SMTP down, refused, timed out: logged, the person can ask again
        current_app.logger.warning("could not send %s email to user %s: %s", template, user.id, exc)


def send_verification(user: User) -> None:
    link = _absolute("players.verify_email", token=make_token(user))
    _send(user, "Confirm your email address", "verify", link=link)


def send_signup_attempt_notice(user: User) -> None:
    """To the owner of an address someone tried to sign up with again: the sign-up page gives that
    person the same answer as for a new address, so only the owner hears about it."""
    _send(
        user,
        "Someone tried to sign up with your address",
        "signup_attempt",
        login_link=_absolute("auth.login"),
    )
