"""API views: parse the request, call a service, return JSON."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from flask import current_app, g, jsonify, request
from werkzeug.exceptions import BadRequest

from app.api import bp, error_response
from app.api.openapi import openapi_document
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import csrf, db
from app.models import Match, PointAdjustment, Tournament, TournamentStatus
from app.services import corrections, idempotency, lobbies, states
from app.services import tournaments as tournaments_service
from app.services.api_tokens import authenticate_api_request
from app.services.leaderboard import LeaderboardService
from app.services.numbers import parse_whole
from app.services.text import check_json, integral_numbers
from app.services.timestamps import iso_z
from app.services.tournament_lookup import get_tournament

MAX_MATCH_IDS = 1000


def _signed_in(view: Callable[..., Any], *, staff: bool) -> Callable[..., Any]:
    """401 without credentials (403 for non-staff when `staff`). A browser session must also
    send its CSRF token (X-CSRFToken header); a bearer token needs none, since no browser sends
    it unasked."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        user, method = authenticate_api_request()
        if user is None:
            message = "invalid or revoked API token" if method == "bearer" else "authentication required"
            response = error_response(401, message)
            response[0].headers["WWW-Authenticate"] = 'Bearer realm="deltacrown"'
            return response
        if staff and not user.can_staff:
            return error_response(403, "staff only")
        if method == "session":
            csrf.protect()
        g.api_user = user
        return view(*args, **kwargs)

    # Tests walking the routes read these: who is refused before the tournament is even looked up.
    wrapper.signed_in_only = True  # type: ignore[attr-defined]
    wrapper.staff_only = staff  # type: ignore[attr-defined]
    return wrapper


def staff_required(view: Callable[..., Any]) -> Callable[..., Any]:
    return _signed_in(view, staff=True)


def player_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Any logged-in user (players and staff alike)."""
    return _signed_in(view, staff=False)


def json_body() -> dict[str, Any]:
    try:
        body = request.get_json(force=True, silent=False)
    except BadRequest:
        raise ValidationError("body: not valid JSON") from None
    except RecursionError:
        raise ValidationError("body: JSON nested too deeply") from None
    if not isinstance(body, dict):
        raise ValidationError("body: expected a JSON object")
    check_json(body)
    return integral_numbers(body)


def _participant_id(body: dict[str, Any]) -> str:
    participant_id = body.get("participant_id")
    if not isinstance(participant_id, str) or not participant_id:
        raise ValidationError("participant_id: required, a participant id such as team-3")
    return participant_id


def _versioned(tournament: Tournament, payload: Any):
    """JSON with an ETag on the results version, so pollers get a cheap 304."""
    response = jsonify(payload)
    response.set_etag(f"{tournament.id}-{tournament.results_version}", weak=True)
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


def _parse_match_ids(raw: str | None) -> list[int] | None:
    if raw is None:
        return None
    parts = [p.strip() for p in raw.split(",")]
    if not raw.strip() or any(not p for p in parts):
        raise ValidationError("match_ids: give match ids separated by commas, e.g. 1,2,3")
    if len(parts) > MAX_MATCH_IDS:
        raise ValidationError(f"match_ids: at most {MAX_MATCH_IDS} ids")
    ids = []
    for part in parts:
        match_id = parse_whole(part, max_digits=18)
        if match_id is None:
            raise ValidationError(f"match_ids: {part[:24]!r} is not a match id")
        ids.append(match_id)
    return ids


def _tournament_summary(t: Tournament) -> dict[str, Any]:
    return {
        "id": t.id,
        "slug": t.slug,
        "name": t.name,
        "game": t.game,
        "status": t.status,
        "kind": "battle_royale" if t.is_battle_royale else "series",
        "scoring_preset": t.scoring_preset,
        "advancing": t.advancing,
        "results_version": t.results_version,
    }


@bp.get("/openapi.json")
def openapi():
    """UTF-8 JSON with astral characters as themselves: `\\ud800\\udc00`-style escapes are refused
    by YAML-based readers (openapi-spec-validator)."""
    body = json.dumps(openapi_document(), ensure_ascii=False, separators=(",", ":"))
    return current_app.response_class(body.encode("utf-8"), mimetype="application/json; charset=utf-8")


def _caller_is_staff() -> bool:
    user, _method = authenticate_api_request()
    return bool(user is not None and user.can_staff)


def visible_tournament(ref: str) -> Tournament:
    """A tournament the caller may read: a draft is "not found" to all but staff (a bad token
    reads as nobody), in the same words as a tournament that does not exist."""
    tournament = get_tournament(ref)
    if tournament.status == TournamentStatus.DRAFT.value and not _caller_is_staff():
        raise NotFound(f"tournament {ref!r} not found")
    return tournament


@bp.get("/tournaments/")
def tournaments():
    query = db.select(Tournament).order_by(Tournament.created_at.desc(), Tournament.id.desc())
    if not _caller_is_staff():
        query = query.where(Tournament.status != TournamentStatus.DRAFT.value)
    return jsonify([_tournament_summary(t) for t in db.session.scalars(query)])


@bp.get("/tournaments/<ref>/")
def tournament(ref: str):
    return jsonify(_tournament_summary(visible_tournament(ref)))


@bp.get("/tournaments/<ref>/leaderboard/")
def leaderboard(ref: str):
    tournament = visible_tournament(ref)
    match_ids = _parse_match_ids(request.args.get("match_ids"))
    stage = request.args.get("stage")
    rows = LeaderboardService.calculate_br_standings(tournament.id, match_ids=match_ids, stage=stage)
    return _versioned(tournament, rows)


@bp.get("/tournaments/<ref>/series/<dbid:match_id>/")
def series(ref: str, match_id: int):
    tournament = visible_tournament(ref)
    return _versioned(tournament, LeaderboardService.series_summary_for_match(tournament.id, match_id))


@bp.get("/tournaments/<ref>/results/")
def results(ref: str):
    tournament = visible_tournament(ref)
    return _versioned(tournament, LeaderboardService.results(tournament.id))


@bp.post("/tournaments/<ref>/override-placement/")
@staff_required
def override_placement(ref: str):
    body = json_body()
    participant_id = _participant_id(body)
    if "new_rank" not in body:
        raise ValidationError("new_rank: required")
    outcome = LeaderboardService.override_placement(
        ref, participant_id, body["new_rank"], body.get("reason"), g.api_user.id
    )
    return jsonify(outcome)


@bp.delete("/tournaments/<ref>/override-placement/")
@staff_required
def clear_override(ref: str):
    body = json_body()
    outcome = LeaderboardService.clear_override(ref, _participant_id(body), body.get("reason"), g.api_user.id)
    return jsonify(outcome)


@bp.post("/tournaments/<ref>/matches/")
@staff_required
def record_match(ref: str):
    """One lobby; with an `Idempotency-Key` header a retry gets the first answer again
    (services.idempotency) instead of a second lobby."""
    body = json_body()
    raw_key = request.headers.get("Idempotency-Key")
    if raw_key is None:
        match = states.record_br_match(ref, body, g.api_user.id)
        return jsonify(match_id=match.id, key=match.key), 201
    key = idempotency.check_key(raw_key)
    print_ = idempotency.fingerprint(request.method, request.path, body)
    claimed = idempotency.claim(f"user:{g.api_user.id}", key, print_)
    if isinstance(claimed, idempotency.Replay):
        response = current_app.response_class(claimed.body, status=claimed.status, mimetype="application/json")
        response.headers["Idempotent-Replayed"] = "true"
        return response
    answer = idempotency.completer(claimed, lambda m: (201, {"match_id": m.id, "key": m.key}))
    match = states.record_br_match(ref, body, g.api_user.id, before_commit=answer)
    return jsonify(match_id=match.id, key=match.key), 201


def _reason_field(body: dict[str, Any], *, required: bool) -> str | None:
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ValidationError("reason: must be text")
    if required and not (reason or "").strip():
        raise ValidationError("reason: required")
    return reason


def _lobby_payload(match: Match) -> dict[str, Any]:
    return {
        "match_id": match.id,
        "key": match.key,
        "stage": match.stage,
        "state": match.state,
        "version": match.version,
        "voided": match.voided_at is not None,
        "void_reason": match.void_reason,
        "results": [
            {"participant": key, "placement": placement, "kills": kills}
            for key, (placement, kills) in lobbies.saved_rows(match).items()
        ],
    }


@bp.put("/tournaments/<ref>/matches/<dbid:match_id>/results/")
@staff_required
def correct_match(ref: str, match_id: int):
    """Replace a lobby's results (the portal's correction, same rules and audit)."""
    body = json_body()
    raw_results = body.get("results")
    if not isinstance(raw_results, list) or not raw_results:
        raise ValidationError("results: required, a list of {participant, placement, kills}")
    rows = []
    for i, row in enumerate(raw_results):
        if not isinstance(row, dict):
            raise ValidationError(f"results[{i}]: must be an object with participant, placement, kills")
        participant = row.get("participant")
        if not isinstance(participant, str):
            raise ValidationError(f"results[{i}].participant: required, a participant id")
        for name in ("placement", "kills"):
            value = row.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValidationError(f"results[{i}].{name}: must be a whole number")
        if row.get("placement") is None:
            raise ValidationError(f"results[{i}].placement: required")
        rows.append({"participant": participant, "placement": row["placement"], "kills": row.get("kills", 0)})
    tournament = get_tournament(ref)
    current = lobbies.lobby_for(tournament, match_id)
    version = body.get("version", current.version)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValidationError("version: must be the whole number read with the lobby")
    stage = body.get("stage", current.stage)
    try:
        match, check = lobbies.correct_lobby(tournament.id, match_id, stage, rows, version, g.api_user.id)
    except lobbies.StaleLobby as exc:
        db.session.rollback()
        raise Conflict(exc.message) from None
    if match is None:
        problems = list(check.errors)
        for i, row in enumerate(check.rows):
            problems += [f"results[{i}]: {message}" for message in row.errors]
        raise ValidationError("; ".join(problems))
    return jsonify(_lobby_payload(match))


@bp.post("/tournaments/<ref>/matches/<dbid:match_id>/void/")
@staff_required
def void_match(ref: str, match_id: int):
    body = json_body()
    match = corrections.void_lobby(ref, match_id, _reason_field(body, required=True), g.api_user.id)
    return jsonify(_lobby_payload(match))


@bp.post("/tournaments/<ref>/matches/<dbid:match_id>/restore/")
@staff_required
def restore_match(ref: str, match_id: int):
    body = json_body()
    match = corrections.restore_lobby(ref, match_id, _reason_field(body, required=False), g.api_user.id)
    return jsonify(_lobby_payload(match))


def _adjustment_payload(adjustment: PointAdjustment) -> dict[str, Any]:
    return {
        "id": adjustment.id,
        "participant_id": adjustment.participant.key,
        "points": adjustment.points,
        "reason": adjustment.reason,
        "created_at": iso_z(adjustment.created_at),
    }


@bp.get("/tournaments/<ref>/adjustments/")
@staff_required
def adjustments(ref: str):
    tournament = get_tournament(ref)
    return jsonify([_adjustment_payload(a) for a in tournaments_service.adjustments(tournament)])


@bp.post("/tournaments/<ref>/adjustments/")
@staff_required
def adjustment_add(ref: str):
    body = json_body()
    adjustment = tournaments_service.add_adjustment(
        ref, _participant_id(body), body.get("points"), body.get("reason"), g.api_user.id
    )
    return jsonify(_adjustment_payload(adjustment)), 201


@bp.patch("/tournaments/<ref>/adjustments/<dbid:adjustment_id>/")
@staff_required
def adjustment_edit(ref: str, adjustment_id: int):
    body = json_body()
    tournament = get_tournament(ref)
    current = corrections.adjustment_for(tournament, adjustment_id)
    adjustment = corrections.edit_adjustment(
        tournament.id,
        adjustment_id,
        body.get("points", current.points),
        body.get("reason", current.reason),
        g.api_user.id,
        note=body.get("note"),
    )
    return jsonify(_adjustment_payload(adjustment))


@bp.delete("/tournaments/<ref>/adjustments/<dbid:adjustment_id>/")
@staff_required
def adjustment_delete(ref: str, adjustment_id: int):
    body = json_body()
    deleted = corrections.delete_adjustment(ref, adjustment_id, body.get("reason"), g.api_user.id)
    return jsonify(deleted=True, id=adjustment_id, **deleted)


@bp.post("/tournaments/<ref>/matches/<dbid:match_id>/state/")
@staff_required
def match_state(ref: str, match_id: int):
    body = json_body()
    state = body.get("state")
    if not isinstance(state, str):
        raise ValidationError("state: required, one of scheduled, live, completed, disputed, cancelled")
    # A dispute needs a reason (what is contested, by whom): the portal's rule, lobbies.move_match.
    match = lobbies.move_match(
        ref, match_id, state, body.get("reason"), g.api_user.id, winner=body.get("winner"), score=body.get("score")
    )
    return jsonify(match_id=match.id, key=match.key, state=match.state)


@bp.post("/tournaments/<ref>/complete/")
@staff_required
def complete(ref: str):
    tournament = LeaderboardService.complete_tournament(ref, g.api_user.id)
    return jsonify(_tournament_summary(tournament))
