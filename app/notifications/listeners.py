"""The receivers of the domain signals (`app.signals`): each turns its signal into the outbox
event of the same type, written into the session of the change that sent it (`outbox.emit`:
the event, its webhook deliveries, in-app notifications and email deliveries). Nothing here
commits and nothing swallows an error: a failure while writing the event propagates to the
service, whose change is then never committed, with its audit row.

Connected once per process by `app.notifications.init_app`; blinker holds receivers weakly, so
they live at module level.
"""

from __future__ import annotations

from typing import Any

from app import signals
from app.extensions import db
from app.models import Announcement, Entry, Match, Payment, Tournament, TournamentResult
from app.notifications import outbox, payloads


def payment_changed(event_type: str):
    def receiver(payment: Payment, **_: Any) -> None:
        registration = payment.registration
        outbox.emit(
            event_type, tournament_id=registration.tournament_id, data=payloads.payment_data(payment), subject=payment
        )

    return receiver


def match_changed(event_type: str):
    def receiver(
        match: Match,
        *,
        tournament: Tournament | None = None,
        previous_state: str | None = None,
        reason: str | None = None,
        **_: Any,
    ) -> None:
        tournament = tournament or db.session.get(Tournament, match.tournament_id)
        notice: dict[str, Any] = {}
        if previous_state is not None:
            notice["previous_state"] = previous_state
        if reason:
            notice["reason"] = reason
        outbox.emit(
            event_type,
            tournament_id=tournament.id,
            data=payloads.match_data(tournament, match),
            subject=match,
            notice=notice,
        )

    return receiver


def match_corrected(
    match: Match, *, tournament: Tournament, changes: dict[str, Any], reason: str | None = None, **_: Any
) -> None:
    outbox.emit(
        "match.corrected",
        tournament_id=tournament.id,
        data=payloads.match_data(tournament, match),
        subject=match,
        notice={"changes": changes, "reason": reason},
    )


def entry_changed(event_type: str):
    """Registration events: the entry's data, plus the proof or the reason the signal names;
    staff's words and what became of the slot go to the notice (people only)."""

    def receiver(
        entry: Entry,
        *,
        proof_id: int | None = None,
        reason: str | None = None,
        passed_on: bool | None = None,
        note: str | None = None,
        **_: Any,
    ) -> None:
        extra: dict[str, Any] = {}
        if proof_id is not None:
            extra["proof_id"] = proof_id
        if reason is not None:
            extra["reason"] = reason
        notice: dict[str, Any] = {}
        if passed_on is not None:
            notice["passed_on"] = passed_on
        if note:
            notice["note"] = note
        outbox.emit(
            event_type,
            tournament_id=entry.tournament_id,
            data=payloads.entry_data(entry, **extra),
            subject=entry,
            notice=notice,
        )

    return receiver


def tournament_completed(tournament: Tournament, **_: Any) -> None:
    outbox.emit(
        "tournament.completed",
        tournament_id=tournament.id,
        data=payloads.tournament_data(tournament),
        subject=tournament,
    )


def placement_overridden(
    result: TournamentResult,
    *,
    tournament: Tournament,
    old_rank: int,
    new_rank: int,
    cleared: bool = False,
    reason: str | None = None,
    moved: dict[str, list[int]] | None = None,
    **_: Any,
) -> None:
    data = payloads.placement_data(tournament, result.participant, old_rank, new_rank)
    notice = {
        "reason": reason,
        "cleared": cleared,
        "moved": moved or {result.participant.key: [old_rank, new_rank]},
    }
    outbox.emit("placement.overridden", tournament_id=tournament.id, data=data, subject=result, notice=notice)


def leaderboard_updated(tournament: Tournament, **_: Any) -> None:
    outbox.emit(
        "leaderboard.updated",
        tournament_id=tournament.id,
        data=payloads.leaderboard_data(tournament),
        subject=tournament,
    )


def tournament_announced(announcement: Announcement, **_: Any) -> None:
    tournament = db.session.get(Tournament, announcement.tournament_id)
    outbox.emit(
        "tournament.announcement",
        tournament_id=tournament.id,
        data=payloads.announcement_data(announcement, tournament),
        subject=announcement,
    )


# Signal -> receiver: the one list of who listens (README "Signals and who listens" repeats it).
RECEIVERS = {
    signals.payment_verified: payment_changed("payment.verified"),
    signals.payment_refunded: payment_changed("payment.refunded"),
    signals.match_started: match_changed("match.started"),
    signals.match_completed: match_changed("match.completed"),
    signals.match_disputed: match_changed("match.disputed"),
    signals.tournament_completed: tournament_completed,
    signals.placement_overridden: placement_overridden,
    signals.leaderboard_updated: leaderboard_updated,
    signals.payment_submitted: entry_changed("payment.submitted"),
    signals.payment_rejected: entry_changed("payment.rejected"),
    signals.registration_confirmed: entry_changed("registration.confirmed"),
    signals.registration_cancelled: entry_changed("registration.cancelled"),
    signals.registration_offered: entry_changed("registration.offered"),
    signals.tournament_announced: tournament_announced,
    signals.match_corrected: match_corrected,
}


def connect() -> None:
    for signal, receiver in RECEIVERS.items():
        # Connecting the same receiver again (one app per test) is a no-op in blinker.
        signal.connect(receiver)
