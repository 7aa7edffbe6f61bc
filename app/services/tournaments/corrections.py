"""Organisers' corrections: putting right what was entered wrong, without telling players
something happened that did not.

Rules:
- Renaming a team changes its one `Participant` row, so every page, the widget, the downloads,
  the API and the final results show the new name at once (the results version is bumped, and
  the live caches key on it). Names follow the registration rule: required, at most 200
  characters, different from every other team's name ignoring case; a tag is optional, at most
  20 characters. Announced as `leaderboard.updated` (the standings show names); nobody is mailed.
- A team is removed only while nothing it played counts or may count: no line in a lobby that
  is not voided or cancelled, no series, no recorded payment, and never after completion (the
  final results list it). Its lines in voided or cancelled lobbies and its adjustments go with
  it, listed in the audit event.
- A point adjustment is edited (points and reason) or deleted with a reason; both are refused
  after completion, and audited with the adjustment before and after.
- A battle-royale lobby entered by mistake is voided with a reason: its state and results are
  kept but it stops counting (every counted-results query excludes voided lobbies) and the
  public lobby list leaves it out. Restoring it makes it count again exactly as it was. Neither
  is a match state change: no `match.*` event and no mail, only `leaderboard.updated` when the
  lobby's state is one that counts (completed). Refused after completion.

Every correction takes the tournament's lock (bumping its results version) and is one
transaction with its audit event and its `leaderboard_updated` signal (sent before the commit,
so the event is written in the same transaction).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update

from app import signals
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.models import (
    Entry,
    Match,
    MatchResult,
    MatchState,
    Participant,
    Payment,
    PointAdjustment,
    Registration,
    Series,
    Tournament,
    TournamentStatus,
    is_db_id,
    utcnow,
)
from app.services import audit
from app.services.inputs.text import check_name, storable
from app.services.registration.entries import ALIVE as ALIVE_ENTRY_STATUSES
from app.services.results.locks import lock_tournament
from app.services.tournaments.file import MAX_ADJUSTMENT, MAX_NAME, MAX_REASON, MAX_TAG
from app.services.tournaments.lookup import get_tournament

MIN_VOID_REASON = 5


def _not_frozen(tournament: Tournament) -> None:
    if tournament.status == TournamentStatus.COMPLETED.value:
        raise Conflict(f"{tournament.slug} is completed; its results are frozen")


def _reason(value: Any, *, required: bool = True, minimum: int = 1) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError("reason: required (it is kept in the audit log)")
        return None
    if not isinstance(value, str):
        raise ValidationError("reason: must be text")
    value = value.strip()
    if len(value) < minimum:
        raise ValidationError(f"reason: at least {minimum} characters")
    if len(value) > MAX_REASON or not storable(value):
        raise ValidationError(f"reason: at most {MAX_REASON} characters of text")
    return value


def _announce(tournament: Tournament) -> None:
    """The standings changed: the signal goes out inside this transaction, before the commit."""
    signals.leaderboard_updated.send(tournament, tournament_id=tournament.id)


def participant_by_key(tournament: Tournament, key: Any) -> Participant:
    participant = None
    if isinstance(key, str) and storable(key):
        participant = db.session.scalar(
            select(Participant).where(Participant.tournament_id == tournament.id, Participant.key == key)
        )
    if participant is None:
        shown = key[:80] if isinstance(key, str) and storable(key) else key
        raise NotFound(f"no participant {shown!r} in {tournament.slug}")
    return participant


# --------------------------------------------------------------------------- teams


def rename_participant(ref: int | str, key: Any, name: Any, tag: Any, actor_id: int | None) -> Participant:
    tournament = get_tournament(ref)
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("name: required")
    # The rule is checked on the text as sent: strip() would drop a trailing U+0085 or U+2028
    # (Python counts them as spaces) and accept what the other entry points refuse.
    sent_name, sent_tag = name, tag
    name = name.strip()
    if len(name) > MAX_NAME or not storable(name):
        raise ValidationError(f"name: at most {MAX_NAME} characters of text")
    check_name(sent_name, "name")
    if tag is not None and not isinstance(tag, str):
        raise ValidationError("tag: must be text")
    tag = (tag or "").strip() or None
    if tag is not None and (len(tag) > MAX_TAG or not storable(tag)):
        raise ValidationError(f"tag: at most {MAX_TAG} characters of text")
    if tag is not None:
        check_name(sent_tag, "tag")
    lock_tournament(tournament)
    participant = participant_by_key(tournament, key)
    others = db.session.execute(
        select(Participant.key, Participant.name).where(
            Participant.tournament_id == tournament.id, Participant.id != participant.id
        )
    )
    taken = next((k for k, n in others if n.casefold() == name.casefold()), None)
    if taken is not None:
        raise ValidationError(f"name: {name!r} is already registered (as {taken})")
    before = {"name": participant.name, "tag": participant.tag}
    after = {"name": name, "tag": tag}
    if before == after:
        db.session.rollback()
        return participant_by_key(get_tournament(ref), key)
    participant.name, participant.tag = name, tag
    # A team that registered itself carries its name on its entry too (queue, captain's page,
    # registration emails): one rename, everywhere at once.
    db.session.execute(update(Entry).where(Entry.participant_id == participant.id).values(team_name=name, tag=tag))
    audit.record(
        "participant.renamed",
        target_type="participant",
        target_id=participant.id,
        tournament_id=tournament.id,
        actor_id=actor_id,
        before={"key": participant.key, **before},
        after={"key": participant.key, **after},
    )
    _announce(tournament)
    db.session.commit()
    return participant


def removal_blockers(tournament: Tournament, participant: Participant) -> list[str]:
    """Why this team cannot be removed (empty when it can): shown on the confirm page too."""
    reasons = []
    if tournament.status == TournamentStatus.COMPLETED.value:
        reasons.append(f"{tournament.slug} is completed; the final results list {participant.name}")
    played = list(
        db.session.scalars(
            select(Match.key)
            .join(MatchResult, MatchResult.match_id == Match.id)
            .where(
                MatchResult.participant_id == participant.id,
                Match.voided_at.is_(None),
                Match.state != MatchState.CANCELLED.value,
            )
            .order_by(Match.position, Match.id)
        )
    )
    if played:
        listed = ", ".join(played[:10]) + (" …" if len(played) > 10 else "")
        reasons.append(
            f"{participant.name} has results in lobby {listed}; correct or void those lobbies first"
            if len(played) == 1
            else f"{participant.name} has results in lobbies {listed}; correct or void those lobbies first"
        )
    in_series = db.session.scalar(
        select(func.count(Series.id)).where(
            (Series.participant_a_id == participant.id) | (Series.participant_b_id == participant.id)
        )
    )
    if in_series:
        reasons.append(f"{participant.name} plays in {in_series} series")
    payments = db.session.scalar(
        select(func.count(Payment.id))
        .join(Registration, Registration.id == Payment.registration_id)
        .where(Registration.participant_id == participant.id)
    )
    if payments:
        reasons.append(f"{participant.name} has {payments} recorded payment(s); they stay on record")
    entry = db.session.scalar(
        select(Entry).where(Entry.participant_id == participant.id, Entry.status.in_(ALIVE_ENTRY_STATUSES))
    )
    if entry is not None:
        reasons.append(
            f"{participant.name} holds registration {entry.code} ({entry.status.replace('_', ' ')}); "
            "reject it in the registration queue or let the captain withdraw first"
        )
    return reasons


def remove_participant(ref: int | str, key: Any, actor_id: int | None) -> dict[str, Any]:
    tournament = get_tournament(ref)
    lock_tournament(tournament)
    participant = participant_by_key(tournament, key)
    blockers = removal_blockers(tournament, participant)
    if blockers:
        raise Conflict("cannot remove this team: " + "; ".join(blockers))
    adjustments = list(
        db.session.scalars(select(PointAdjustment).where(PointAdjustment.participant_id == participant.id))
    )
    stale_lines = list(
        db.session.scalars(
            select(Match.key)
            .join(MatchResult, MatchResult.match_id == Match.id)
            .where(MatchResult.participant_id == participant.id)
        )
    )
    players = db.session.scalar(
        select(func.count(Registration.id)).where(Registration.participant_id == participant.id)
    )
    snapshot = {
        "key": participant.key,
        "name": participant.name,
        "tag": participant.tag,
        "adjustments": [{"points": a.points, "reason": a.reason} for a in adjustments],
        "lines_in_voided_or_cancelled_lobbies": stale_lines,
        "players": players,
    }
    audit.record(
        "participant.removed",
        target_type="participant",
        target_id=participant.id,
        tournament_id=tournament.id,
        actor_id=actor_id,
        before=snapshot,
    )
    counted_adjustment = bool(adjustments)
    db.session.execute(delete(PointAdjustment).where(PointAdjustment.participant_id == participant.id))
    db.session.execute(delete(MatchResult).where(MatchResult.participant_id == participant.id))
    db.session.delete(participant)
    if counted_adjustment:
        # An adjustment alone shows nothing in the standings (they list teams that played), but a
        # consumer that summed it would now be wrong: tell them.
        _announce(tournament)
    db.session.commit()
    return snapshot


# --------------------------------------------------------------------------- adjustments


def adjustment_for(tournament: Tournament, adjustment_id: Any) -> PointAdjustment:
    adjustment = db.session.get(PointAdjustment, adjustment_id) if is_db_id(adjustment_id) else None
    if adjustment is None or adjustment.tournament_id != tournament.id:
        raise NotFound(f"no adjustment {adjustment_id} in {tournament.slug}")
    return adjustment


def _adjustment_view(adjustment: PointAdjustment) -> dict[str, Any]:
    return {
        "participant_id": adjustment.participant.key,
        "points": adjustment.points,
        "reason": adjustment.reason,
    }


def _points(points: Any) -> int:
    if isinstance(points, bool) or not isinstance(points, int) or not -MAX_ADJUSTMENT <= points <= MAX_ADJUSTMENT:
        raise ValidationError(f"points: a whole number from -{MAX_ADJUSTMENT} to {MAX_ADJUSTMENT}")
    if points == 0:
        raise ValidationError("points: must not be 0 (delete the adjustment instead)")
    return points


def edit_adjustment(
    ref: int | str, adjustment_id: Any, points: Any, reason: Any, actor_id: int | None, note: Any = None
) -> PointAdjustment:
    """New points and reason (the reason is shown with the adjustment); `note` says why it changed."""
    tournament = get_tournament(ref)
    points = _points(points)
    reason = _reason(reason)
    note = _reason(note, required=False)
    lock_tournament(tournament)
    _not_frozen(tournament)
    adjustment = adjustment_for(tournament, adjustment_id)
    before = _adjustment_view(adjustment)
    if (adjustment.points, adjustment.reason) == (points, reason):
        db.session.rollback()
        return adjustment_for(get_tournament(ref), adjustment_id)
    adjustment.points, adjustment.reason = points, reason
    audit.record(
        "adjustment.edited",
        target_type="point_adjustment",
        target_id=adjustment.id,
        tournament_id=tournament.id,
        actor_id=actor_id,
        before=before,
        after=_adjustment_view(adjustment),
        reason=note or reason,
    )
    if before["points"] != points:
        _announce(tournament)
    db.session.commit()
    return adjustment


def delete_adjustment(ref: int | str, adjustment_id: Any, reason: Any, actor_id: int | None) -> dict[str, Any]:
    tournament = get_tournament(ref)
    reason = _reason(reason)
    lock_tournament(tournament)
    _not_frozen(tournament)
    adjustment = adjustment_for(tournament, adjustment_id)
    before = _adjustment_view(adjustment)
    audit.record(
        "adjustment.deleted",
        target_type="point_adjustment",
        target_id=adjustment.id,
        tournament_id=tournament.id,
        actor_id=actor_id,
        before=before,
        reason=reason,
    )
    db.session.delete(adjustment)
    _announce(tournament)
    db.session.commit()
    return before


# --------------------------------------------------------------------------- void / restore


def lobby_for(tournament: Tournament, match_id: Any) -> Match:
    match = db.session.get(Match, match_id, populate_existing=True) if is_db_id(match_id) else None
    if match is None or match.tournament_id != tournament.id or match.series_id is not None:
        raise NotFound(f"no lobby {match_id} in {tournament.slug}")
    return match


def _void_view(match: Match) -> dict[str, Any]:
    return {"voided": match.voided_at is not None, "state": match.state}


def void_lobby(ref: int | str, match_id: Any, reason: Any, actor_id: int | None) -> Match:
    tournament = get_tournament(ref)
    reason = _reason(reason, minimum=MIN_VOID_REASON)
    lock_tournament(tournament)
    match = lobby_for(tournament, match_id)
    _not_frozen(tournament)
    if match.voided_at is not None:
        raise Conflict(f"lobby {match.key} is already voided")
    before = _void_view(match)
    match.voided_at = utcnow()
    match.voided_by_id = actor_id
    match.void_reason = reason
    match.version += 1  # an edit opened before the void is refused rather than applied blind
    return _finish_void(tournament, match, "match.voided", before, reason, actor_id)


def restore_lobby(ref: int | str, match_id: Any, reason: Any, actor_id: int | None) -> Match:
    tournament = get_tournament(ref)
    reason = _reason(reason, required=False)
    lock_tournament(tournament)
    match = lobby_for(tournament, match_id)
    _not_frozen(tournament)
    if match.voided_at is None:
        raise Conflict(f"lobby {match.key} is not voided")
    before = {**_void_view(match), "void_reason": match.void_reason}
    match.voided_at = None
    match.voided_by_id = None
    match.void_reason = None
    match.version += 1
    return _finish_void(tournament, match, "match.restored", before, reason, actor_id)


def _finish_void(
    tournament: Tournament, match: Match, action: str, before: dict[str, Any], reason: str | None, actor_id: int | None
) -> Match:
    audit.record(
        action,
        target_type="match",
        target_id=match.id,
        tournament_id=tournament.id,
        actor_id=actor_id,
        before=before,
        after=_void_view(match),
        reason=reason,
    )
    counts = match.state == MatchState.COMPLETED.value
    if counts:
        _announce(tournament)
    db.session.commit()
    return match
