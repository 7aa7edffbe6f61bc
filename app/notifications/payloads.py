"""The `data` of each event type: ids, states and public names only, because these dicts go to
third-party receivers as they are. Never put a user's email or name, a phone number, or a
payment's amount, method or reference here (tests/notifications/test_webhooks.py and
tests/notifications/test_registration_notifications.py check every event type).

`registration_id` means one thing in every event: the team's entry, the `<rid>` of the
registration API (contract §7). A payment is recorded on a roster row (a player's `Registration`
on the team); that row's id is `roster_registration_id`, and `registration_id` is the entry of
the team the roster row belongs to (null for a team staff added directly, which has no entry)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Announcement, Entry, Match, Participant, Payment, Tournament


def payment_data(payment: Payment) -> dict[str, Any]:
    registration = payment.registration
    participant = registration.participant
    tournament = participant.tournament
    entry_id = db.session.scalar(select(Entry.id).where(Entry.participant_id == participant.id))
    return {
        "payment_id": payment.id,
        "registration_id": entry_id,
        "roster_registration_id": registration.id,
        "tournament_id": tournament.id,
        "tournament_slug": tournament.slug,
        "participant_id": participant.key,
        "participant_name": participant.name,
        "status": payment.status,
    }


def entry_data(entry: Entry, **extra: Any) -> dict[str, Any]:
    """A team's registration: ids, states, the team's public name and its registration code.
    Never an amount, a method, a transaction id or a person (the payment details of
    `payment.submitted`/`payment.rejected` stay in the portal); `extra` adds e.g. `reason`."""
    tournament = entry.tournament
    participant = entry.participant
    data: dict[str, Any] = {
        "registration_id": entry.id,
        "registration_code": entry.code,
        "tournament_id": tournament.id,
        "tournament_slug": tournament.slug,
        "team_name": entry.team_name,
        "participant_id": participant.key if participant is not None else None,
        "status": entry.status,
        "payment_status": entry.payment_status,
    }
    data.update(extra)
    return data


def match_data(tournament: Tournament, match: Match) -> dict[str, Any]:
    data: dict[str, Any] = {
        "match_id": match.id,
        "match_key": match.key,
        "tournament_id": tournament.id,
        "tournament_slug": tournament.slug,
        "state": match.state,
    }
    if match.series is not None:
        data["series_key"] = match.series.key
    if match.stage:
        data["stage"] = match.stage
    return data


def tournament_data(tournament: Tournament) -> dict[str, Any]:
    return {
        "tournament_id": tournament.id,
        "tournament_slug": tournament.slug,
        "tournament_name": tournament.name,
        "status": tournament.status,
    }


def placement_data(tournament: Tournament, participant: Participant, old_rank: int, new_rank: int) -> dict[str, Any]:
    return {
        "tournament_id": tournament.id,
        "tournament_slug": tournament.slug,
        "participant_id": participant.key,
        "participant_name": participant.name,
        "old_rank": old_rank,
        "new_rank": new_rank,
    }


def leaderboard_data(tournament: Tournament) -> dict[str, Any]:
    return {
        "tournament_id": tournament.id,
        "tournament_slug": tournament.slug,
        "results_version": tournament.results_version,
    }


def announcement_data(announcement: Announcement, tournament: Tournament) -> dict[str, Any]:
    """Ids only: the subject and message are read from the row when worded (a people-only event,
    but the outbox keeps no more than it needs)."""
    return {
        "announcement_id": announcement.id,
        "tournament_id": tournament.id,
        "tournament_slug": tournament.slug,
        "tournament_name": tournament.name,
    }
