"""What every staff tournament page shares: the tournament a page is about, who is acting, and
how a refusal is answered. Kept apart from the views so the view modules import it, and never
each other's helpers (a page module may still render another's page: the lobby page after a
correction, the series page after a lobby action)."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from app.errors import Conflict, DomainError, NotFound
from app.models import Tournament
from app.services.inputs.text import storable
from app.services.registration.roster_visibility import event_participants
from app.services.tournaments.lookup import get_tournament_by_slug


def load(slug: str) -> Tournament:
    """The tournament a staff page is about (404 for an unknown slug)."""
    if not storable(slug):
        abort(404)
    try:
        return get_tournament_by_slug(slug)
    except NotFound:
        abort(404)


def status_for(exc: DomainError) -> int:
    """A refused form is answered 400 (bad input) or 409 (the state forbids it), never 200."""
    return 409 if isinstance(exc, Conflict) else exc.status


def conflict_message(exc: DomainError) -> str | None:
    """A refusal by the tournament's state is shown at the top: the form may not be on the page."""
    return exc.message if isinstance(exc, Conflict) else None


def actor() -> int:
    return current_user.id


def participant_choices(tournament: Tournament, blank: str | None = None) -> dict[str, str]:
    """The teams a staff form offers (penalties, series): only those in the event."""
    choices = {"": blank} if blank is not None else {}
    teams = event_participants(tournament.id)
    choices.update((p.key, p.name) for p in sorted(teams, key=lambda p: p.name.casefold()))
    return choices
