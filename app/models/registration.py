"""The tables of team registration (issue 11): a tournament's settings, the entries, their payment
proofs and the teams' join codes. The rules these rows follow are stated in
app/services/registration/entries.py."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Select,
    String,
    Text,
    false,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.core import (
    Participant,
    Payment,
    Tournament,
    User,
    UTCDateTime,
    enum_values,
    utcnow,
)

# --------------------------------------------------------------------------- registration (issue 11)
# The rules these rows follow are stated in app/services/registration/entries.py.


class EntryStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    AWAITING_APPROVAL = "awaiting_approval"
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    WITHDRAWN = "withdrawn"
    NO_SHOW = "no_show"


class EntryPaymentStatus(StrEnum):
    NONE = "none"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    REJECTED = "rejected"
    WAIVED = "waived"
    REFUNDED = "refunded"


class ProofStatus(StrEnum):
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    REJECTED = "rejected"
    REFUNDED = "refunded"


class RegistrationSettings(db.Model):
    """How one tournament takes entries. Operational data, not part of the tournament file.

    The row is also the registration lock: every change to the tournament's entries starts with
    an UPDATE bumping `lock_version`, which serialises them on SQLite and PostgreSQL alike.
    """

    __tablename__ = "registration_settings"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity"),
        CheckConstraint("roster_min >= 1 AND roster_max >= roster_min", name="roster"),
        CheckConstraint("fee_cents >= 0", name="fee_cents"),
        CheckConstraint("payment_deadline_hours >= 1", name="payment_deadline_hours"),
        CheckConstraint("check_in_minutes IS NULL OR check_in_minutes >= 1", name="check_in_minutes"),
        CheckConstraint("opens_at IS NULL OR closes_at IS NULL OR opens_at < closes_at", name="window"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id", ondelete="CASCADE"), unique=True)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When play starts: the end of the check-in window and the last moment to withdraw.
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    capacity: Mapped[int] = mapped_column(Integer)
    roster_min: Mapped[int] = mapped_column(Integer, default=1)
    roster_max: Mapped[int] = mapped_column(Integer, default=1)
    fee_cents: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="BDT")
    methods: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    payment_deadline_hours: Mapped[int] = mapped_column(Integer, default=48)
    auto_confirm_free: Mapped[bool] = mapped_column(Boolean, default=True)
    check_in_minutes: Mapped[int | None] = mapped_column(Integer)
    # The registration form asks the captain for a phone/WhatsApp number; True: it must be given.
    captain_phone_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    lock_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Entry(db.Model):
    """A team's registration in a tournament (the API's "registration"; its id is `rid`)."""

    __tablename__ = "entries"
    __table_args__ = (
        CheckConstraint(f"status IN ({enum_values(EntryStatus)})", name="status"),
        CheckConstraint(f"payment_status IN ({enum_values(EntryPaymentStatus)})", name="payment_status"),
        Index("ix_entries_tournament_status", "tournament_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id", ondelete="CASCADE"))
    captain_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    team_name: Mapped[str] = mapped_column(String(200))
    tag: Mapped[str | None] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(12), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    payment_status: Mapped[str] = mapped_column(String(20), default=EntryPaymentStatus.NONE.value)
    # The team's Participant (made at registration so teammates can join with a join code;
    # hidden from every public list until the entry is confirmed).
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="SET NULL"), unique=True)
    # The roster Payment a verification created (what the Payments tab and payment.* events use).
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))
    payment_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    waitlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The captain's phone or WhatsApp number, for staff only: never on a public page, in an API
    # row, an export or an event's data (app/services/registration/entries.py).
    captain_phone: Mapped[str | None] = mapped_column(String(20))
    # Why a cancelled/rejected/withdrawn/no-show entry ended ("deadline", "withdrawn", ...).
    end_reason: Mapped[str | None] = mapped_column(String(20))
    # Staff's own words when they turned the entry down: its captain reads them on the page, in
    # the inbox and by email.
    end_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    tournament: Mapped[Tournament] = relationship()
    captain: Mapped[User] = relationship()
    participant: Mapped[Participant | None] = relationship()
    payment: Mapped[Payment | None] = relationship()
    proofs: Mapped[list[PaymentProof]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", order_by="PaymentProof.id"
    )


class PaymentProof(db.Model):
    """One proof of payment a captain submitted. Every submission is kept, decided or not."""

    __tablename__ = "payment_proofs"
    __table_args__ = (
        CheckConstraint(f"status IN ({enum_values(ProofStatus)})", name="status"),
        CheckConstraint("amount_cents >= 0", name="amount_cents"),
        Index("ix_payment_proofs_method_transaction", "method", "transaction_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(40))
    transaction_id: Mapped[str] = mapped_column(String(80))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="BDT")
    sender_last_digits: Mapped[str] = mapped_column(String(8), default="")
    screenshot_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=ProofStatus.SUBMITTED.value)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text, default="")
    reference: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    entry: Mapped[Entry] = relationship(back_populates="proofs")


class ProofImage(db.Model):
    """A payment-proof screenshot, re-encoded (app/services/registration/proof_images.py). In the database so
    every app host serves the same ones; a proof names it by `key`."""

    __tablename__ = "proof_images"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    mimetype: Mapped[str] = mapped_column(String(20))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TeamJoinCode(db.Model):
    """The current join code of one team. Only a SHA-256 of the code is stored: whoever reads
    the database still cannot join a team with it. One row per team; a new code replaces the old."""

    __tablename__ = "team_join_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    participant: Mapped[Participant] = relationship()


def not_in_event_ids(tournament_id: int | None = None) -> Select:
    """Ids of participants that are not in the event: a registered team counts only while its
    entry is confirmed (teams staff add or import have no entry and always count). Kept on the
    models so the services (app/services/registration/roster_visibility.py) and the notification
    layer, which imports no service, ask one rule."""
    query = select(Entry.participant_id).where(
        Entry.participant_id.is_not(None), Entry.status != EntryStatus.CONFIRMED.value
    )
    if tournament_id is not None:
        query = query.where(Entry.tournament_id == tournament_id)
    return query
