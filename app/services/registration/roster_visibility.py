"""Who is in the event: the one rule every list of a tournament's teams follows.

A team that registers through the registration flow gets its `Participant` at once, so its
players can join with the team's join code before the entry is decided. It is in the event only
while its entry is confirmed: until then (and again after it ends: cancelled, rejected,
withdrawn, no-show) it is left out of team counts, the staff participant list, the team choices
of penalties and series, the lobby entry grid, the validation of results (portal and API), the
standings, final results and the tournament file. Teams staff add or import directly have no
entry and are always in the event (a tournament that does not use registration is just those).

Callers ask here rather than filtering participants themselves, so no two lists can disagree
about who plays: `is_visible` as a WHERE condition, `event_participants` / `event_keys` for the
teams themselves (in slot order: the order they got their place, the order of every grid)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, select

from app.extensions import db
from app.models import Participant, not_in_event_ids


def hidden_participant_ids(tournament_id: int | None = None) -> Select:
    """A subquery of the ids of participants whose entry is not confirmed (the models' rule)."""
    return not_in_event_ids(tournament_id)


def is_visible(participant_id_column: Any, tournament_id: int | None = None) -> ColumnElement[bool]:
    """A WHERE condition keeping only participants in the event."""
    return participant_id_column.not_in(hidden_participant_ids(tournament_id))


def hidden_set(tournament_id: int) -> set[int]:
    return set(db.session.scalars(hidden_participant_ids(tournament_id)))


def event_participants(tournament_id: int) -> list[Participant]:
    """The teams in the event, in slot order (the order they were added or registered)."""
    return list(
        db.session.scalars(
            select(Participant)
            .where(Participant.tournament_id == tournament_id, is_visible(Participant.id, tournament_id))
            .order_by(Participant.id)
        )
    )


def event_keys(tournament_id: int) -> dict[str, int]:
    """{participant key: participant id} of the teams in the event."""
    return dict(
        db.session.execute(
            select(Participant.key, Participant.id).where(
                Participant.tournament_id == tournament_id, is_visible(Participant.id, tournament_id)
            )
        ).all()
    )


def is_in_event(participant: Participant) -> bool:
    return participant.id not in hidden_set(participant.tournament_id)


def waiting_count(tournament_id: int) -> int:
    """Registered teams not (or no longer) in the event: what a staff list says it left out."""
    return len(hidden_set(tournament_id))
