"""Team join codes: how a player account is tied to a team, and nothing else can tie it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models import Participant, UTCDateTime, utcnow


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
