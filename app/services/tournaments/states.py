"""State machines for tournaments and matches, and result entry.

Tournament: draft → registration → live → completed, one step at a time and never back.
Completion goes through `app.services.standings.final_results.complete_tournament`, which freezes the results.

Match: scheduled → live → completed; live or completed → disputed (a team contests it);
disputed → completed (dispute resolved) or cancelled; scheduled or live → cancelled. Nothing
leaves cancelled. A match moving to completed gets its `completed_at` if it has none. Results of
a completed tournament are frozen: its matches no longer change.

A voided lobby (`services.corrections`) keeps its state and never counts; it cannot change
state until it is restored.

Every change bumps the tournament's results version under its lock, writes an audit event and
sends its signals (`match.*` on a state move; `leaderboard.updated` when a match enters or
leaves the completed state, the only one that counts) in the same transaction, before the
commit, so the events are written with the change or not at all. A new lobby saved already
completed (how staff enter a lobby that just ended) is announced like a lobby that moved to
completed: one `match.completed` (each player hears how their team placed) and
`leaderboard.updated`; a new lobby in any other state announces nothing, as it changes no
standings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from app import signals
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.models import Match, MatchResult, MatchState, Participant, Tournament, TournamentStatus, is_db_id, utcnow
from app.services import audit
from app.services.inputs.text import storable
from app.services.registration.roster_visibility import is_visible
from app.services.results import lobby_keys
from app.services.results.locks import lock_tournament
from app.services.standings.series_summaries import summarise_series
from app.services.tournaments.lookup import get_tournament
from app.timestamps import iso_z

TOURNAMENT_STEPS = {
    TournamentStatus.DRAFT.value: TournamentStatus.REGISTRATION.value,
    TournamentStatus.REGISTRATION.value: TournamentStatus.LIVE.value,
}

MATCH_TRANSITIONS: dict[str, frozenset[str]] = {
    MatchState.SCHEDULED.value: frozenset({MatchState.LIVE.value, MatchState.CANCELLED.value}),
    MatchState.LIVE.value: frozenset(
        {MatchState.COMPLETED.value, MatchState.DISPUTED.value, MatchState.CANCELLED.value}
    ),
    MatchState.COMPLETED.value: frozenset({MatchState.DISPUTED.value}),
    MatchState.DISPUTED.value: frozenset({MatchState.COMPLETED.value, MatchState.CANCELLED.value}),
    MatchState.CANCELLED.value: frozenset(),
}

_MATCH_SIGNALS = {
    MatchState.LIVE.value: signals.match_started,
    MatchState.COMPLETED.value: signals.match_completed,
    MatchState.DISPUTED.value: signals.match_disputed,
}


def advance_tournament(tournament_ref: int | str, new_status: str, actor_id: int | None) -> Tournament:
    """Move a tournament one step along draft → registration → live."""
    tournament = get_tournament(tournament_ref)
    lock_tournament(tournament)
    if new_status == TournamentStatus.COMPLETED.value:
        raise ValidationError("status: complete a tournament with the complete action, which freezes results")
    if TOURNAMENT_STEPS.get(tournament.status) != new_status:
        raise Conflict(f"{tournament.slug} is {tournament.status}; it cannot move to {new_status}")
    before = tournament.status
    tournament.status = new_status
    audit.record(
        "tournament.status_changed",
        target_type="tournament",
        target_id=tournament.id,
        tournament_id=tournament.id,
        actor_id=actor_id,
        before={"status": before},
        after={"status": new_status},
    )
    db.session.commit()
    return tournament


def change_match_state(
    tournament_ref: int | str,
    match_id: int,
    new_state: str,
    actor_id: int | None,
    reason: str | None = None,
    *,
    winner: str | None = None,
    score: Any = None,
) -> Match:
    """Move one match along its state machine (see the module docstring).

    A series game is completed together with its result: `winner` (a participant id of the
    series) and optionally `score` ({participant id: points}); a game without a winner needs a
    level score (a drawn map). A battle-royale lobby can only be completed once it has results.
    """
    tournament = get_tournament(tournament_ref)
    if new_state not in MATCH_TRANSITIONS:
        raise ValidationError(f"state: must be one of {', '.join(MATCH_TRANSITIONS)}")
    if reason is not None and (len(reason) > 500 or not storable(reason)):
        raise ValidationError("reason: at most 500 characters of text, without NUL characters")
    lock_tournament(tournament)
    match = db.session.get(Match, match_id, populate_existing=True) if is_db_id(match_id) else None
    if match is None or match.tournament_id != tournament.id:
        raise NotFound(f"no match {match_id} in {tournament.slug}")
    if tournament.status == TournamentStatus.COMPLETED.value:
        raise Conflict(f"{tournament.slug} is completed; its results are frozen")
    if match.voided_at is not None:
        # Its players were never told of it; a state move would announce a lobby that is void.
        raise Conflict(f"lobby {match.key} is voided; restore it before changing its state")
    if new_state not in MATCH_TRANSITIONS[match.state]:
        raise Conflict(f"match {match.key} is {match.state}; it cannot move to {new_state}")
    completing = new_state == MatchState.COMPLETED.value
    if (winner is not None or score is not None) and not (completing and match.series_id is not None):
        raise ValidationError("winner: a winner and score are given only when completing a series game")
    before = {"state": match.state}
    if completing and match.series_id is not None:
        apply_game_result(match, winner, score)
    elif completing and not match.results:
        raise Conflict(f"match {match.key} has no results; record the lobby's results before completing it")
    match.state = new_state
    match.version += 1  # a correction opened before this move is refused rather than applied blind
    if new_state in (MatchState.COMPLETED.value, MatchState.DISPUTED.value) and match.completed_at is None:
        # A disputed match was played: it keeps the time it ended, like a completed one.
        match.completed_at = utcnow().replace(microsecond=0)
    audit.record(
        "match.state_changed",
        target_type="match",
        target_id=match.id,
        tournament_id=tournament.id,
        actor_id=actor_id,
        before=before,
        after={"state": new_state},
        reason=reason,
    )
    _announce_match_change(tournament, match, before["state"])
    db.session.commit()
    return match


def record_br_match(
    tournament_ref: int | str,
    entry: Any,
    actor_id: int | None,
    *,
    before_commit: Callable[[Match], None] | None = None,
) -> Match:
    """Store one battle-royale lobby sent by staff; validated exactly like a file's lobby.

    A key that a saved lobby already has is refused with `DuplicateLobby` (409): the same lobby
    entered twice must not count twice. `before_commit(match)` runs inside the transaction (the
    API stores its idempotent answer there, so the lobby and the answer exist together or not at all)."""
    from app.services.tournaments.file import validate_match_entry

    tournament = get_tournament(tournament_ref)
    if not tournament.is_battle_royale:
        raise ValidationError(f"{tournament.slug} is a {tournament.game_name} tournament; lobbies are battle royale")
    lock_tournament(tournament)
    if tournament.status == TournamentStatus.COMPLETED.value:
        raise Conflict(f"{tournament.slug} is completed; its results are frozen")
    participants = dict(
        db.session.execute(
            select(Participant.key, Participant.id).where(
                Participant.tournament_id == tournament.id, is_visible(Participant.id, tournament.id)
            )
        ).all()
    )
    existing = set(db.session.scalars(select(Match.key).where(Match.tournament_id == tournament.id)))
    wanted = entry.get("key") if isinstance(entry, dict) else None
    if isinstance(wanted, str) and wanted in existing:
        first = db.session.scalar(select(Match).where(Match.tournament_id == tournament.id, Match.key == wanted))
        raise DuplicateLobby(
            f"lobby {wanted} is already saved (match {first.id}); this one was not saved. "
            "Check the first one, and correct it if needed",
            first,
        )
    if isinstance(entry, dict) and entry.get("completed_at") is None:
        # Staff entering a lobby that just ended need not type the time: it ended now.
        state = entry.get("state", MatchState.COMPLETED.value)
        if state in (MatchState.COMPLETED.value, MatchState.DISPUTED.value):
            entry = {**entry, "completed_at": iso_z(utcnow().replace(microsecond=0))}
    clean = validate_match_entry(entry, "match", set(participants), existing)
    position = (
        db.session.scalar(select(func.max(Match.position)).where(Match.tournament_id == tournament.id)) or 0
    ) + 1
    # A key an open lobby grid holds is not handed out to another lobby (services.lobby_keys).
    key = clean["key"] or _free_key(existing | lobby_keys.held_keys(tournament.id), position)
    lobby_keys.release(tournament.id, key)
    match = Match(
        tournament_id=tournament.id,
        key=key,
        stage=clean["stage"],
        state=clean["state"],
        completed_at=clean["completed_at"],
        position=position,
    )
    db.session.add(match)
    db.session.flush()
    if clean["results"]:
        db.session.execute(
            db.insert(MatchResult),
            [
                {
                    "match_id": match.id,
                    "participant_id": participants[r["participant"]],
                    "placement": r["placement"],
                    "kills": r["kills"],
                }
                for r in clean["results"]
            ],
        )
    audit.record(
        "match.recorded",
        target_type="match",
        target_id=match.id,
        tournament_id=tournament.id,
        actor_id=actor_id,
        after={"key": key, "state": match.state, "results": len(clean["results"])},
    )
    # Saved completed: announced once, as if it had just moved to completed (see the docstring).
    completed = match.state == MatchState.COMPLETED.value
    _announce_match_change(tournament, match, MatchState.LIVE.value if completed else None)
    if before_commit is not None:
        before_commit(match)
    db.session.commit()
    return match


class DuplicateLobby(Conflict):
    """A lobby is saved under a key another saved lobby has: the same lobby entered twice.
    `match` is the one saved first."""

    def __init__(self, message: str, match: Match):
        super().__init__(message)
        self.match = match


def apply_game_result(match: Match, winner: object, score: object) -> None:
    """The rules of a series game in a tournament file, applied to one game completed live
    (through the API's match states, or entered with its result in the portal)."""
    series = match.series
    a, b = series.participant_a.key, series.participant_b.key
    if winner is not None and winner not in (a, b):
        raise ValidationError(f"winner: must be {a} or {b}")
    if score is not None:
        if not isinstance(score, dict) or set(score) != {a, b}:
            raise ValidationError(f'score: give both scores, e.g. {{"{a}": 13, "{b}": 11}}')
        for key, value in score.items():
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10000:
                raise ValidationError(f"score.{key}: must be an integer from 0 to 10000")
    if winner is None and not (score is not None and score[a] == score[b]):
        raise ValidationError("winner: required, unless the score is level (a drawn map)")
    if winner is not None and score is not None and score[winner] <= score[b if winner == a else a]:
        raise ValidationError("score: the winner must have the higher score")
    decided = summarise_series(series, [g for g in series.games if g.id != match.id])
    if decided["status"] in ("completed", "forfeit"):
        raise Conflict(f"series {series.key} is already decided; game {match.game_number} cannot count")
    match.winner_id = series.participant_a_id if winner == a else series.participant_b_id if winner == b else None
    match.score_a = score[a] if score is not None else None
    match.score_b = score[b] if score is not None else None


def _free_key(existing: set[str], start: int) -> str:
    number = start
    while f"m{number}" in existing:
        number += 1
    return f"m{number}"


def _announce_match_change(tournament: Tournament, match: Match, before_state: str | None) -> bool:
    """Send the signals of a match change (a state move, or `before_state` None for a new match)
    inside the open transaction; return whether the standings changed, which is exactly when a
    match enters or leaves the completed state, the only one that counts."""
    signal = _MATCH_SIGNALS.get(match.state) if before_state is not None else None
    if signal is not None:
        signal.send(match, tournament=tournament, tournament_id=tournament.id, match_id=match.id, state=match.state)
    changed = MatchState.COMPLETED.value in (before_state, match.state)
    if changed:
        signals.leaderboard_updated.send(tournament, tournament_id=tournament.id)
    return changed
