"""The tables of tournaments and their play: users and API tokens, tournaments, participants,
roster registrations and their payments, series, matches and results, point adjustments and
frozen final results; the column types and enums the other model modules share."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
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


def enum_values(enum_cls: type[enum.Enum]) -> str:
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
        CheckConstraint(f"game IN ({enum_values(Game)})", name="game"),
        CheckConstraint(f"status IN ({enum_values(TournamentStatus)})", name="status"),
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
    # What the public page says about the event (app/services/tournaments/info.py): plain text,
    # shown with its line breaks and never as HTML, and the organiser's contact links.
    description: Mapped[str | None] = mapped_column(Text)
    rules: Mapped[str | None] = mapped_column(Text)
    contact_whatsapp: Mapped[str | None] = mapped_column(String(300))
    contact_discord: Mapped[str | None] = mapped_column(String(300))
    contact_facebook: Mapped[str | None] = mapped_column(String(300))

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
        CheckConstraint(f"status IN ({enum_values(PaymentStatus)})", name="status"),
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
    __table_args__ = (CheckConstraint(f"status IN ({enum_values(PaymentStatus)})", name="status"),)

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
        CheckConstraint(f"state IN ({enum_values(MatchState)})", name="state"),
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
