"""Staff overrides of final placements, and their preview.

Rules:
- Only after completion, only by an active staff account, always with a reason of 10 to 500
  characters; audited (`placement.override`, `placement.override_cleared`) and signalled.
- An override pins one participant at a rank; every other participant keeps its frozen order and
  fills the remaining ranks (teams that were tied stay tied). A new pin on a pinned rank replaces
  that pin; repeating an identical override changes nothing and records nothing. Clearing a pin
  returns the participant to its frozen order.
- Overrides of one tournament run one after the other (the tournament lock). The preview shows
  the order an override would produce without writing anything, with the results version it was
  computed from: confirming against that version is refused if anything changed in between.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import signals
from app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.extensions import db
from app.models import Tournament, TournamentResult, TournamentStatus, User, utcnow
from app.services import audit
from app.services.inputs.text import storable
from app.services.results.locks import lock_tournament
from app.services.tournaments.lookup import get_tournament
from app.timestamps import iso_z

MIN_REASON_LENGTH = 10
MAX_REASON_LENGTH = 500


def override_placement(
    tournament_id: int | str,
    participant_id: str,
    new_rank: int,
    reason: str,
    actor_id: int,
    *,
    expected_version: int | None = None,
) -> dict[str, Any]:
    """Pin `participant_id` at `new_rank` in the final results (staff only, audited).
    `expected_version`: the results version the caller previewed; refused if it moved."""
    tournament = get_tournament(tournament_id)
    actor = _staff_actor(actor_id)
    reason = _checked_reason(reason)
    if isinstance(new_rank, bool) or not isinstance(new_rank, int):
        raise ValidationError("new_rank: must be an integer")
    results = _lock_final_results(tournament, expected_version)
    target = _result_for(results, participant_id, tournament.slug)
    if not 1 <= new_rank <= len(results):
        raise ValidationError(f"new_rank: must be between 1 and {len(results)}")

    old_rank = target.rank
    if target.is_override and target.rank == new_rank and target.override_reason == reason:
        db.session.rollback()  # identical override: nothing changes, nothing is recorded
        target = db.session.get(TournamentResult, target.id)
        return _override_response(target, participant_id, old_rank)

    before = _rank_map(results)
    replaced = None
    for other in results:
        if other is not target and other.is_override and other.rank == new_rank:
            replaced = other.participant.key
            _unpin(other)
    db.session.flush()  # the old pin must leave the rank before the new one takes it
    target.is_override = True
    target.rank = new_rank
    target.override_reason = reason
    target.override_actor_id = actor.id
    target.override_timestamp = utcnow().replace(microsecond=0)
    _apply_pins(results)
    audit.record(
        "placement.override",
        target_type="tournament_result",
        target_id=target.id,
        tournament_id=tournament.id,
        actor_id=actor.id,
        before={"participant_id": participant_id, "rank": old_rank, "ranks": before},
        after={
            "participant_id": participant_id,
            "rank": new_rank,
            "ranks": _rank_map(results),
            "replaced_pin_of": replaced,
        },
        reason=reason,
    )
    signals.placement_overridden.send(
        target,
        tournament=tournament,
        tournament_id=tournament.id,
        participant_id=participant_id,
        old_rank=old_rank,
        new_rank=new_rank,
        cleared=False,
    )
    db.session.commit()
    return _override_response(target, participant_id, old_rank)


def clear_override(
    tournament_id: int | str,
    participant_id: str,
    reason: str,
    actor_id: int,
    *,
    expected_version: int | None = None,
) -> dict[str, Any]:
    """Remove a pin; the participant returns to its frozen order (audited)."""
    tournament = get_tournament(tournament_id)
    actor = _staff_actor(actor_id)
    reason = _checked_reason(reason)
    results = _lock_final_results(tournament, expected_version)
    target = _result_for(results, participant_id, tournament.slug)
    if not target.is_override:
        raise Conflict(f"{participant_id} has no override to clear")
    before = _rank_map(results)
    old_rank = target.rank
    _unpin(target)
    _apply_pins(results)
    audit.record(
        "placement.override_cleared",
        target_type="tournament_result",
        target_id=target.id,
        tournament_id=tournament.id,
        actor_id=actor.id,
        before={"participant_id": participant_id, "rank": old_rank, "ranks": before},
        after={"participant_id": participant_id, "rank": target.rank, "ranks": _rank_map(results)},
        reason=reason,
    )
    signals.placement_overridden.send(
        target,
        tournament=tournament,
        tournament_id=tournament.id,
        participant_id=participant_id,
        old_rank=old_rank,
        new_rank=target.rank,
        cleared=True,
    )
    db.session.commit()
    return {
        "success": True,
        "result_id": target.id,
        "participant_id": participant_id,
        "old_rank": old_rank,
        "new_rank": target.rank,
    }


def _checked_reason(reason: object) -> str:
    if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValidationError(f"reason: give a reason of at least {MIN_REASON_LENGTH} characters")
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError(f"reason: at most {MAX_REASON_LENGTH} characters")
    if not storable(reason):
        raise ValidationError("reason: contains a NUL character or an unpaired surrogate")
    return reason.strip()


def _lock_final_results(tournament: Tournament, expected_version: int | None = None) -> list[TournamentResult]:
    """Take the tournament's lock (held until commit, so concurrent overrides run one after the
    other), then read its final results fresh; refused before completion. With
    `expected_version` (the results version a staff member previewed), refused if another change
    came in between: the order they confirmed is no longer the one that would result."""
    new_version = lock_tournament(tournament)
    if tournament.status != TournamentStatus.COMPLETED.value:
        raise Conflict(f"{tournament.slug} is not completed; placements can be overridden after completion")
    if expected_version is not None and new_version - 1 != expected_version:
        db.session.rollback()
        raise Conflict("the final results changed since you looked at them; check the current order and try again")
    return _locked_results(tournament.id)


def preview_override(tournament_id: int | str, participant_id: str, new_rank: Any, reason: Any) -> dict[str, Any]:
    """The final order an override would produce, checked like the override itself but without
    writing anything, plus the results version it was computed from (to confirm against)."""
    tournament = get_tournament(tournament_id)
    reason = _checked_reason(reason)
    if isinstance(new_rank, bool) or not isinstance(new_rank, int):
        raise ValidationError("new_rank: must be an integer")
    if tournament.status != TournamentStatus.COMPLETED.value:
        raise Conflict(f"{tournament.slug} is not completed; placements can be overridden after completion")
    version = tournament.results_version
    rows = _locked_results(tournament.id)
    target = _result_for(rows, participant_id, tournament.slug)
    if not 1 <= new_rank <= len(rows):
        raise ValidationError(f"new_rank: must be between 1 and {len(rows)}")
    before = _rank_map(rows)
    copies = [
        SimpleNamespace(
            rank=r.rank,
            frozen_rank=r.frozen_rank,
            frozen_position=r.frozen_position,
            is_override=r.is_override,
            participant=r.participant,
            override_reason=r.override_reason,
            override_actor_id=r.override_actor_id,
            override_timestamp=r.override_timestamp,
        )
        for r in rows
    ]
    mine = next(c for c, r in zip(copies, rows, strict=True) if r is target)
    for other in copies:
        if other is not mine and other.is_override and other.rank == new_rank:
            _unpin(other)  # type: ignore[arg-type]
    mine.is_override, mine.rank = True, new_rank
    _apply_pins(copies)  # type: ignore[arg-type]
    ordered = sorted(copies, key=lambda c: (c.rank, c.frozen_position))
    return {
        "version": version,
        "participant_id": participant_id,
        "participant_name": target.participant.name,
        "old_rank": target.rank,
        "new_rank": new_rank,
        "reason": reason,
        "rows": [
            {
                "rank": c.rank,
                "participant_id": c.participant.key,
                "participant_name": c.participant.name,
                "is_override": c.is_override,
                "old_rank": before[c.participant.key],
                "moved": before[c.participant.key] != c.rank,
                "is_target": c is mine,
            }
            for c in ordered
        ],
    }


def _locked_results(tournament_id: int) -> list[TournamentResult]:
    return list(
        db.session.scalars(
            select(TournamentResult)
            .where(TournamentResult.tournament_id == tournament_id)
            .options(selectinload(TournamentResult.participant))
            .order_by(TournamentResult.frozen_position)
            .execution_options(populate_existing=True)
        )
    )


def _result_for(results: list[TournamentResult], participant_key: str, slug: str) -> TournamentResult:
    for result in results:
        if result.participant.key == participant_key:
            return result
    raise NotFound(f"no participant {participant_key!r} in the results of {slug}")


def _staff_actor(actor_id: int) -> User:
    actor = db.session.get(User, actor_id) if isinstance(actor_id, int) else None
    if actor is None or not actor.is_active:
        raise PermissionDenied("an active staff account is required")
    if not actor.can_staff:
        raise PermissionDenied("only staff can change final placements")
    return actor


def _unpin(result: TournamentResult) -> None:
    result.is_override = False
    result.override_reason = None
    result.override_actor_id = None
    result.override_timestamp = None


def _apply_pins(results: list[TournamentResult]) -> None:
    """Pinned rows keep their rank; the rest fill the free ranks in frozen order, and rows
    that were tied when frozen stay tied (they share the first rank their group lands on)."""
    taken = {r.rank for r in results if r.is_override}
    free = iter(rank for rank in range(1, len(results) + 1) if rank not in taken)
    unpinned = [r for r in results if not r.is_override]
    unpinned.sort(key=lambda r: r.frozen_position)
    for _frozen_rank, group in itertools.groupby(unpinned, key=lambda r: r.frozen_rank):
        members = list(group)
        slots = [next(free) for _ in members]
        for member in members:
            member.rank = slots[0]


def _rank_map(results: list[TournamentResult]) -> dict[str, int]:
    return {r.participant.key: r.rank for r in results}


def _override_response(result: TournamentResult, participant_key: str, old_rank: int) -> dict[str, Any]:
    return {
        "success": True,
        "result_id": result.id,
        "participant_id": participant_key,
        "old_rank": old_rank,
        "new_rank": result.rank,
        "override_reason": result.override_reason,
        "override_actor_id": result.override_actor_id,
        "override_timestamp": iso_z(result.override_timestamp),
    }
