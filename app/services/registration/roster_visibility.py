"""Which participants count as the tournament's teams.

A team that registers through the registration flow gets its `Participant` at once, so its
players can join with the team's join code before the entry is decided. It becomes one of the
tournament's teams only when its entry is confirmed: until then (and again after it ends:
cancelled, rejected, withdrawn, no-show) it is left out of team counts, lobby entry, final
results and the tournament file. Teams staff add directly have no entry and always count.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, select

from app.extensions import db
from app.models import Entry, EntryStatus


def hidden_participant_ids(tournament_id: int | None = None) -> Select:
    """A subquery of the ids of participants whose entry is not confirmed."""
    query = select(Entry.participant_id).where(
        Entry.participant_id.is_not(None), Entry.status != EntryStatus.CONFIRMED.value
    )
    if tournament_id is not None:
        query = query.where(Entry.tournament_id == tournament_id)
    return query


def is_visible(participant_id_column: Any, tournament_id: int | None = None) -> ColumnElement[bool]:
    """A WHERE condition keeping only participants that count as teams."""
    return participant_id_column.not_in(hidden_participant_ids(tournament_id))


def hidden_set(tournament_id: int) -> set[int]:
    return set(db.session.scalars(hidden_participant_ids(tournament_id)))
