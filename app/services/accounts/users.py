"""User accounts and API tokens: the rules the CLI (`flask users ...`) and the staff portal
(/staff/users/, /staff/tokens/) share.

Rules:
- An email is unique whatever its case; what an email, a password and a name may be is
  app.services.accounts.rules (shared with player sign-up).
- Roles: `player` (no staff rights), `staff` (runs tournaments), `admin` (staff who also manage
  users and webhook endpoints).
- Deactivating a user, or changing a password, bumps `session_version`: every open session and
  "remember me" cookie of that user stops working at once. Log-out bumps it too.
- An admin cannot demote or deactivate themself, so the portal always keeps an admin who can
  undo a mistake (the CLI can still create one).
- Unlocking an account forgets every failed log-in and join-code attempt counted against it
  (app/services/support/throttle.py), so its owner can log in at once from anywhere; setting a password
  does the same. The address buckets stay: they belong to whoever did the guessing.
- A token is shown once; only its hash is stored. People revoke their own tokens in the portal.
- Every change here writes an audit event (target `user` or `api_token`) in the same commit,
  with the actor (None from the CLI) and before/after values; passwords and tokens never
  appear in it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.extensions import db
from app.models import ApiToken, User, utcnow
from app.services import audit
from app.services.accounts.rules import check_display_name, check_password, normalise_email
from app.services.accounts.tokens import add_token, revoke_user_tokens
from app.services.support.throttle import throttle

ROLES = ("player", "staff", "admin")


def role_of(user: User) -> str:
    if user.is_admin:
        return "admin"
    return "staff" if user.is_staff else "player"


def _snapshot(user: User) -> dict[str, object]:
    return {"email": user.email, "display_name": user.display_name, "role": role_of(user), "active": user.is_active}


def find_user(email: str) -> User:
    user = db.session.scalars(select(User).where(func.lower(User.email) == email.strip().lower())).first()
    if user is None:
        raise NotFound(f"no user with email {email.strip().lower()}")
    return user


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def _role_flags(role: str) -> tuple[bool, bool]:
    if role not in ROLES:
        raise ValidationError(f"role: must be one of {', '.join(ROLES)}")
    return role in ("staff", "admin"), role == "admin"


def create_user(
    email: str, password: str, *, role: str = "player", display_name: str | None = None, actor_id: int | None = None
) -> User:
    """Create an account (commits). `display_name` defaults to the part of the email before @."""
    email = normalise_email(email)
    name = check_display_name(display_name if display_name is not None else email.split("@", 1)[0], "name")
    is_staff, is_admin = _role_flags(role)
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise Conflict(f"a user with email {email} already exists")
    check_password(password)
    # An admin vouches for the address (app/services/accounts/verification.py).
    user = User(
        email=email, display_name=name, is_staff=is_staff, is_admin=is_admin, active=True, email_verified_at=utcnow()
    )
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        # Someone created the same email between our check and our insert.
        db.session.rollback()
        raise Conflict(f"a user with email {email} already exists") from None
    audit.record("user.created", target_type="user", target_id=user.id, actor_id=actor_id, after=_snapshot(user))
    db.session.commit()
    return user


def _refuse_self(user: User, actor_id: int | None, what: str) -> None:
    if actor_id is not None and user.id == actor_id:
        raise PermissionDenied(f"you cannot {what} your own account; ask another admin")


def change_role(user_id: int, role: str, *, actor_id: int | None, reason: str | None = None) -> User:
    user = get_user(user_id)
    is_staff, is_admin = _role_flags(role)
    if role == role_of(user):
        return user  # nothing changes, nothing is recorded
    _refuse_self(user, actor_id, "change the role of")
    before = _snapshot(user)
    user.is_staff, user.is_admin = is_staff, is_admin
    audit.record(
        "user.role_changed",
        target_type="user",
        target_id=user.id,
        actor_id=actor_id,
        before=before,
        after=_snapshot(user),
        reason=reason,
    )
    db.session.commit()
    return user


def set_active(user_id: int, active: bool, *, actor_id: int | None, reason: str | None = None) -> User:
    """Deactivate (ends every session and makes every token useless) or reactivate."""
    user = get_user(user_id)
    if user.is_active == active:
        return user
    if not active:
        _refuse_self(user, actor_id, "deactivate")
    before = _snapshot(user)
    user.active = active
    user.session_version = (user.session_version or 0) + 1
    audit.record(
        "user.reactivated" if active else "user.deactivated",
        target_type="user",
        target_id=user.id,
        actor_id=actor_id,
        before=before,
        after=_snapshot(user),
        reason=reason,
    )
    db.session.commit()
    return user


def change_password(user_id: int, password: str, *, actor_id: int | None) -> User:
    """Set a new password and end every session opened with the old one (commits)."""
    user = get_user(user_id)
    check_password(password)
    user.set_password(password)
    user.session_version = (user.session_version or 0) + 1
    audit.record("user.password_changed", target_type="user", target_id=user.id, actor_id=actor_id)
    db.session.commit()
    # The remedy for a locked-out owner: the new password works at once.
    throttle().unlock_account(user.email)
    return user


def unlock(user_id: int, *, actor_id: int | None) -> User:
    """Lift the log-in (and join-code) attempt limits of the account; audited (commits)."""
    user = get_user(user_id)
    audit.record("user.unlocked", target_type="user", target_id=user.id, actor_id=actor_id, after={"email": user.email})
    db.session.commit()
    throttle().unlock_account(user.email)
    return user


def end_sessions(user_id: int) -> None:
    """Log-out: every session and remember cookie issued so far stops working (commits)."""
    user = db.session.get(User, user_id)
    if user is not None:
        user.session_version = (user.session_version or 0) + 1
        db.session.commit()


def issue_token(user_id: int, *, actor_id: int | None) -> str:
    """A new API token for an active user; returned once, stored hashed (commits)."""
    user = get_user(user_id)
    if not user.is_active:
        raise Conflict(f"user {user.email} is deactivated; a token for it would not work")
    token, raw = add_token(user.id)
    audit.record(
        "token.created",
        target_type="api_token",
        target_id=token.id,
        actor_id=actor_id,
        after={"user": user.email, "prefix": token.prefix},
    )
    db.session.commit()
    return raw


def revoke_token(token_id: int, *, owner_id: int, actor_id: int | None) -> ApiToken:
    """Revoke one token of `owner_id` (a token of somebody else is "not found", not "forbidden",
    so ids of other people's tokens cannot be probed)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != owner_id:
        raise NotFound(f"no API token with id {token_id}")
    if token.revoked_at is not None:
        return token
    token.revoked_at = datetime.now(UTC)
    audit.record(
        "token.revoked",
        target_type="api_token",
        target_id=token.id,
        actor_id=actor_id,
        before={"user": token.user.email, "prefix": token.prefix, "revoked": False},
        after={"user": token.user.email, "prefix": token.prefix, "revoked": True},
    )
    db.session.commit()
    return token


def revoke_all_tokens(user_id: int, *, actor_id: int | None) -> int:
    user = get_user(user_id)
    live = db.session.scalar(
        select(func.count(ApiToken.id)).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    )
    if not live:
        return 0
    audit.record(
        "token.revoked_all",
        target_type="user",
        target_id=user.id,
        actor_id=actor_id,
        before={"user": user.email, "live_tokens": live},
        after={"user": user.email, "live_tokens": 0},
    )
    db.session.flush()
    # revoke_user_tokens commits, taking the audit event with it.
    return revoke_user_tokens(user.id)


def tokens_of(user_id: int) -> list[ApiToken]:
    return list(
        db.session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc()))
    )


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.email)))
