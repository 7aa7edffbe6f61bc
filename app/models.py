"""The data model. Rules about how these rows may change live in `app/services/`, not here:
models only describe what is stored and which combinations the database itself refuses."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db

# Primary keys are 32-bit INTEGER on PostgreSQL: a larger number cannot name a row, and asking
# the database about it is an error rather than "not found".
MAX_ID = 2**31 - 1


def is_db_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both databases.

    SQLite drops the offset, PostgreSQL keeps it; normalising on the way in and out means a
    timestamp read back compares equal to the one written, whichever database is behind us.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Game(StrEnum):
    FREEFIRE = "freefire"
    PUBGM = "pubgm"
    VALORANT = "valorant"
    CS2 = "cs2"
    DOTA2 = "dota2"
    MLBB = "mlbb"
    CODM = "codm"


BATTLE_ROYALE_GAMES = frozenset({Game.FREEFIRE.value, Game.PUBGM.value})
GAME_NAMES = {
    "freefire": "Free Fire",
    "pubgm": "PUBG Mobile",
    "valorant": "Valorant",
    "cs2": "Counter-Strike 2",
    "dota2": "Dota 2",
    "mlbb": "Mobile Legends: Bang Bang",
    "codm": "Call of Duty: Mobile",
}


class TournamentStatus(StrEnum):
    DRAFT = "draft"
    REGISTRATION = "registration"
    LIVE = "live"
    COMPLETED = "completed"


class MatchState(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    COMPLETED = "completed"
    DISPUTED = "disputed"
    CANCELLED = "cancelled"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    REFUNDED = "refunded"


def _values(enum_cls: type[enum.Enum]) -> str:
    return ", ".join(f"'{m.value}'" for m in enum_cls)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(120), default="")
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of every login session; bumping it (log-out, password change, deactivation) ends
    # every session issued before, whichever worker or cookie copy presents it.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the owner followed the link emailed at sign-up (app/services/accounts/verification.py);
    # None: not confirmed, which matters only while email is on.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # Flask-Login reads this
        return bool(self.active)

    @property
    def can_staff(self) -> bool:
        """Admins are staff too."""
        return bool(self.is_staff or self.is_admin)

    def get_id(self) -> str:  # Flask-Login stores this in the session and remember cookie
        return f"{self.id}:{self.session_version or 0}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)


class ApiToken(db.Model):
    """Bearer tokens; only a SHA-256 of the token is stored, so a leaked database leaks none."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="tokens")


class Tournament(db.Model):
    __tablename__ = "tournaments"
    __table_args__ = (
        CheckConstraint(f"game IN ({_values(Game)})", name="game"),
        CheckConstraint(f"status IN ({_values(TournamentStatus)})", name="status"),
        CheckConstraint("advancing IS NULL OR advancing >= 1", name="advancing"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    game: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=TournamentStatus.DRAFT.value)
    # Scoring ruleset: a preset name, and for `custom` the table itself.
    scoring_preset: Mapped[str | None] = mapped_column(String(20))
    placement_points: Mapped[list[int] | None] = mapped_column(JSON)
    kill_points: Mapped[int | None] = mapped_column(Integer)
    tiebreakers: Mapped[list[str] | None] = mapped_column(JSON)
    # The top N of the standings qualify (drawn as a cutline); None: no advancement line.
    advancing: Mapped[int | None] = mapped_column(Integer)
    # Stage names staff pick from when entering a lobby ("Day 1", "Finals"); lobbies may still
    # name other stages (an imported file declares none).
    stages: Mapped[list[str] | None] = mapped_column(JSON)
    # Bumped by every change to results; clients and caches compare it, and the UPDATE that
    # bumps it is also the lock that serialises concurrent result changes (see services.locks).
    results_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    participants: Mapped[list[Participant]] = relationship(
        back_populates="tournament", cascade="all, delete-orphan", order_by="Participant.id"
    )

    @property
    def is_battle_royale(self) -> bool:
        return self.game in BATTLE_ROYALE_GAMES

    @property
    def game_name(self) -> str:
        return GAME_NAMES.get(self.game, self.game)


class Participant(db.Model):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("tournament_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    tag: Mapped[str | None] = mapped_column(String(20))

    tournament: Mapped[Tournament] = relationship(back_populates="participants")


class Registration(db.Model):
    """A user's place on a participant (a player on a team)."""

    __tablename__ = "registrations"
    __table_args__ = (UniqueConstraint("participant_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    participant: Mapped[Participant] = relationship()
    user: Mapped[User] = relationship()


class Payment(db.Model):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(f"status IN ({_values(PaymentStatus)})", name="status"),
        CheckConstraint("amount_cents >= 0", name="amount_cents"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="BDT")
    method: Mapped[str] = mapped_column(String(40), default="")
    reference: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(20), default=PaymentStatus.PENDING.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    registration: Mapped[Registration] = relationship()
    verifications: Mapped[list[PaymentVerification]] = relationship(
        back_populates="payment", cascade="all, delete-orphan", order_by="PaymentVerification.id"
    )


class PaymentVerification(db.Model):
    """One staff decision on a payment: who moved it to which status, when and why."""

    __tablename__ = "payment_verifications"
    __table_args__ = (CheckConstraint(f"status IN ({_values(PaymentStatus)})", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    payment: Mapped[Payment] = relationship(back_populates="verifications")


class Series(db.Model):
    __tablename__ = "series"
    __table_args__ = (
        UniqueConstraint("tournament_id", "key"),
        CheckConstraint("best_of >= 1 AND best_of <= 9", name="best_of"),
        CheckConstraint("participant_a_id <> participant_b_id", name="distinct_participants"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200), default="")
    best_of: Mapped[int] = mapped_column(Integer)
    participant_a_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    participant_b_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    forfeit_winner_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="SET NULL"))
    position: Mapped[int] = mapped_column(Integer, default=0)

    participant_a: Mapped[Participant] = relationship(foreign_keys=[participant_a_id])
    participant_b: Mapped[Participant] = relationship(foreign_keys=[participant_b_id])
    forfeit_winner: Mapped[Participant | None] = relationship(foreign_keys=[forfeit_winner_id])
    games: Mapped[list[Match]] = relationship(back_populates="series", order_by="Match.game_number")


class Match(db.Model):
    """A battle-royale lobby (with `results` rows) or one game of a series (winner + score)."""

    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("tournament_id", "key"),
        CheckConstraint(f"state IN ({_values(MatchState)})", name="state"),
        Index("ix_matches_tournament_state", "tournament_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(80))
    stage: Mapped[str | None] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(20), default=MatchState.SCHEDULED.value)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Order in the imported file, or creation order: the tie-break between equal completed_at.
    position: Mapped[int] = mapped_column(Integer, default=0)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    game_number: Mapped[int | None] = mapped_column(Integer)
    winner_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="SET NULL"))
    score_a: Mapped[int | None] = mapped_column(Integer)
    score_b: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Bumped by every correction of the lobby's results and every state change: a form carries
    # the version it was read at, so of two staff changing one lobby the later save is told.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A lobby entered by mistake is voided rather than deleted or moved along the state machine:
    # it keeps its state and results (so a restore gives back exactly what was there) but stops
    # counting, and nobody is told it was "disputed" or "cancelled".
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    void_reason: Mapped[str | None] = mapped_column(Text)

    series: Mapped[Series | None] = relationship(back_populates="games")
    winner: Mapped[Participant | None] = relationship(foreign_keys=[winner_id])
    results: Mapped[list[MatchResult]] = relationship(
        back_populates="match", cascade="all, delete-orphan", order_by="MatchResult.placement"
    )


class MatchResult(db.Model):
    """One team's line in one battle-royale lobby."""

    __tablename__ = "match_results"
    __table_args__ = (
        UniqueConstraint("match_id", "participant_id"),
        UniqueConstraint("match_id", "placement"),
        CheckConstraint("placement >= 1", name="placement"),
        CheckConstraint("kills >= 0", name="kills"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    placement: Mapped[int] = mapped_column(Integer)
    kills: Mapped[int] = mapped_column(Integer, default=0)

    match: Mapped[Match] = relationship(back_populates="results")
    participant: Mapped[Participant] = relationship()


class PointAdjustment(db.Model):
    """A penalty or bonus on a team's total points, always with a reason."""

    __tablename__ = "point_adjustments"

    id: Mapped[int] = mapped_column(primary_key=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    points: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    participant: Mapped[Participant] = relationship()


class TournamentResult(db.Model):
    """A participant's final place, frozen when the tournament completes.

    `frozen_rank`/`frozen_position` keep the computed order so overrides can be applied and
    cleared again without recomputing; `rank` is what is published.
    """

    __tablename__ = "tournament_results"
    __table_args__ = (
        UniqueConstraint("tournament_id", "participant_id"),
        CheckConstraint("rank >= 1", name="rank"),
        # Two pins on one rank can never coexist, whatever races happen above us.
        Index(
            "uq_tournament_results_pinned_rank",
            "tournament_id",
            "rank",
            unique=True,
            sqlite_where=db.text("is_override"),
            postgresql_where=db.text("is_override"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)
    frozen_rank: Mapped[int] = mapped_column(Integer)
    frozen_position: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer, default=0)
    wins: Mapped[int] = mapped_column(Integer, default=0)
    is_override: Mapped[bool] = mapped_column(Boolean, default=False)
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    override_timestamp: Mapped[datetime | None] = mapped_column(UTCDateTime())
    total_kills: Mapped[int | None] = mapped_column(Integer)
    best_placement: Mapped[int | None] = mapped_column(Integer)
    avg_placement: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    matches_played: Mapped[int] = mapped_column(Integer, default=0)
    series_score: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    game_results: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    participant: Mapped[Participant] = relationship()


class AuditEvent(db.Model):
    """Who changed what, from what to what, and why. Written in the same transaction as the
    change, so there is never a change without its record."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_target", "target_type", "target_id"),
        # The audit log page filters by action and date and lists newest first.
        Index("ix_audit_events_action", "action"),
        Index("ix_audit_events_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[int] = mapped_column(Integer)
    tournament_id: Mapped[int | None] = mapped_column(ForeignKey("tournaments.id", ondelete="CASCADE"), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor: Mapped[User | None] = relationship()
    tournament: Mapped[Tournament | None] = relationship()


class Notification(db.Model):
    """An in-app notification for one user."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(500))
    tournament_id: Mapped[int | None] = mapped_column(ForeignKey("tournaments.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


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
    lock_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Entry(db.Model):
    """A team's registration in a tournament (the API's "registration"; its id is `rid`)."""

    __tablename__ = "entries"
    __table_args__ = (
        CheckConstraint(f"status IN ({_values(EntryStatus)})", name="status"),
        CheckConstraint(f"payment_status IN ({_values(EntryPaymentStatus)})", name="payment_status"),
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
    # Why a cancelled/rejected/withdrawn/no-show entry ended ("deadline", "withdrawn", ...).
    end_reason: Mapped[str | None] = mapped_column(String(20))
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
        CheckConstraint(f"status IN ({_values(ProofStatus)})", name="status"),
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


class LobbyKeyReservation(db.Model):
    """A lobby key (`m8`) held for one staff member's open entry grid until it expires, so two
    staff entering lobbies at once get different keys and a lobby is never saved twice under
    two keys. Shared through the database because the grids may be served by different hosts."""

    __tablename__ = "lobby_key_reservations"
    __table_args__ = (UniqueConstraint("tournament_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class IdempotencyRecord(db.Model):
    """The first answer to an API request sent with an `Idempotency-Key`, replayed when the same
    caller sends the same key again (a bot retrying after a timeout records one lobby, not two)."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Whose key it is ("user:12"): two callers may pick the same key without meeting.
    scope: Mapped[str] = mapped_column(String(60))
    key: Mapped[str] = mapped_column(String(255))
    # The method, path and a digest of the body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


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


TOURNAMENT_LIST = "tournament_list"


class SiteVersion(db.Model):
    """Versions every app instance reads from the database (the tournament list's:
    app.services.support.list_version)."""

    __tablename__ = "site_versions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


# The row exists from the start (the migration inserts it too), so a bump is one UPDATE and two
# first writers can never race to insert it.
event.listen(
    SiteVersion.__table__,
    "after_create",
    DDL(f"INSERT INTO site_versions (name, version) VALUES ('{TOURNAMENT_LIST}', 0)"),
)
