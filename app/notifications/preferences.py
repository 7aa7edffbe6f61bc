"""Which events a player hears about, and by which channel.

Rules:
- Every event type belongs to one category (payments, matches, tournaments). A player can turn email
  off per category; the in-app inbox always gets its notification, so turning email off never makes
  a player miss something.
- Email is the opt-out kind: no row means "send". An opt-out row is written by the preferences page
  and by the one-click unsubscribe link, both through `set_email_opt_out`, so the two agree.
- Only the events with an email template (EMAIL_EVENTS) are ever emailed. `payment.submitted` is a
  staff inbox item (staff are at the queue anyway), and `leaderboard.updated` (every single result
  change) notifies nobody.
- Registration news (confirmed, cancelled, a payment proof turned away) belongs to the "Entries
  and payments" category: it is all about a team's entry, and a player who wants no entry-fee
  email wants none of it.
- A waiting-listed team's place offer is transactional (TRANSACTIONAL): it asks the team to act
  before a deadline, so it is always emailed, whatever the category's setting, and carries no
  unsubscribe link. The preferences page says so.
- A category has one name for people (CATEGORY_NAMES), the same in email footers, on the
  unsubscribe page and on the preferences page.
- Announcements (staff's message to every team of a tournament) belong to the tournaments
  category: they are news about a tournament the player plays in, like its final results, and a
  player who mutes entry-fee or match email still wants the organisers' word on the event. A new
  category would have needed a setting most players never find before the first one arrives.
- Unsubscribe links carry a signed token naming (user, category), not a login: RFC 8058 one-click
  unsubscribe comes from the mail provider, without the player's cookies. The token never expires,
  because an unsubscribe link in a month-old email must still work.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models import User, UTCDateTime, is_db_id, utcnow
from app.signing import serializer

PAYMENTS = "payments"
MATCHES = "matches"
TOURNAMENTS = "tournaments"

# A category's name wherever a person reads it.
CATEGORY_NAMES: dict[str, str] = {
    PAYMENTS: "Entries and payments",
    MATCHES: "Matches",
    TOURNAMENTS: "Tournaments",
}
# Shown on the preferences page, in this order.
CATEGORIES: dict[str, str] = {
    PAYMENTS: f"{CATEGORY_NAMES[PAYMENTS]}: your registration confirmed or cancelled, your fee verified or refunded "
    "(a place offered from the waiting list is always emailed: it has a deadline)",
    MATCHES: f"{CATEGORY_NAMES[MATCHES]}: your matches starting, finishing, disputed or corrected",
    TOURNAMENTS: f"{CATEGORY_NAMES[TOURNAMENTS]}: organisers' announcements, final results of tournaments you play "
    "in and changes to them",
}

EVENT_CATEGORY: dict[str, str] = {
    "payment.verified": PAYMENTS,
    "payment.refunded": PAYMENTS,
    "payment.submitted": PAYMENTS,
    "payment.rejected": PAYMENTS,
    "registration.confirmed": PAYMENTS,
    "registration.cancelled": PAYMENTS,
    "registration.offered": PAYMENTS,
    "match.started": MATCHES,
    "match.completed": MATCHES,
    "match.disputed": MATCHES,
    "match.corrected": MATCHES,
    "tournament.completed": TOURNAMENTS,
    "placement.overridden": TOURNAMENTS,
    "tournament.announcement": TOURNAMENTS,
}

# The events that have an email template (templates/email/<type with _>.html and .txt).
EMAIL_EVENTS = frozenset(
    {
        "payment.verified",
        "payment.refunded",
        "payment.rejected",
        "registration.confirmed",
        "registration.cancelled",
        "registration.offered",
        "match.started",
        "match.completed",
        "match.disputed",
        "match.corrected",
        "tournament.completed",
        "tournament.announcement",
        "placement.overridden",
    }
)
# Emailed whatever the recipient's category setting, without an unsubscribe link.
TRANSACTIONAL = frozenset({"registration.offered"})

_UNSUBSCRIBE_SALT = "deltacrown.unsubscribe.v1"


class EmailOptOut(db.Model):
    """A player's "no email for this category"."""

    __tablename__ = "email_opt_outs"
    __table_args__ = (
        UniqueConstraint("user_id", "category"),
        CheckConstraint(f"category IN ('{PAYMENTS}', '{MATCHES}', '{TOURNAMENTS}')", name="category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def category_of(event_type: str) -> str | None:
    return EVENT_CATEGORY.get(event_type)


def opted_out_user_ids(user_ids: Iterable[int], category: str) -> set[int]:
    ids = list(user_ids)
    if not ids:
        return set()
    return set(
        db.session.scalars(
            select(EmailOptOut.user_id).where(EmailOptOut.user_id.in_(ids), EmailOptOut.category == category)
        )
    )


def category_name(category: str | None) -> str:
    return CATEGORY_NAMES.get(category or "", category or "")


def wants_email(user_id: int, category: str) -> bool:
    return user_id not in opted_out_user_ids([user_id], category)


def email_preferences(user_id: int) -> dict[str, bool]:
    """{category: email on?} for every category."""
    off = set(db.session.scalars(select(EmailOptOut.category).where(EmailOptOut.user_id == user_id)))
    return {category: category not in off for category in CATEGORIES}


def set_email_opt_out(user_id: int, category: str, opted_out: bool) -> bool:
    """Turn one category's email off or on; True when something changed. Does not commit.

    Idempotent, and safe against a double click racing itself: the unique constraint decides,
    inside a savepoint so the caller's transaction survives the loser's insert."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    if not opted_out:
        result = db.session.execute(
            delete(EmailOptOut).where(EmailOptOut.user_id == user_id, EmailOptOut.category == category)
        )
        return bool(result.rowcount)
    if not wants_email(user_id, category):
        return False
    try:
        with db.session.begin_nested():
            db.session.add(EmailOptOut(user_id=user_id, category=category))
    except IntegrityError:
        return False
    return True


def set_email_preferences(user_id: int, enabled: dict[str, bool]) -> list[str]:
    """Apply the preferences page; returns the categories that changed. Does not commit."""
    return [c for c in CATEGORIES if c in enabled and set_email_opt_out(user_id, c, not enabled[c])]


def _serializer() -> URLSafeSerializer:
    return serializer(_UNSUBSCRIBE_SALT)


def unsubscribe_token(user_id: int, category: str) -> str:
    return _serializer().dumps({"u": user_id, "c": category})


class InvalidUnsubscribeToken(ValueError):
    """The link was altered, cut short, or signed with another key."""


def read_unsubscribe_token(token: str) -> tuple[User, str]:
    """The (user, category) a link names; InvalidUnsubscribeToken when it names nothing valid."""
    try:
        payload = _serializer().loads(token)
    except BadSignature:
        raise InvalidUnsubscribeToken("This unsubscribe link is not valid (it may have been cut short).") from None
    user_id = payload.get("u") if isinstance(payload, dict) else None
    category = payload.get("c") if isinstance(payload, dict) else None
    if not is_db_id(user_id) or category not in CATEGORIES:
        raise InvalidUnsubscribeToken("This unsubscribe link is not valid.")
    user = db.session.get(User, user_id)
    if user is None:
        raise InvalidUnsubscribeToken("This unsubscribe link belongs to an account that no longer exists.")
    return user, category
