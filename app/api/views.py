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
from app.services.accounts.tokens import authenticate_api_request
from app.services.inputs import api_bodies
from app.services.inputs.fieldspec import Obj
from app.services.inputs.text import check_json, integral_numbers
from app.services.results import lobbies
from app.services.standings.leaderboard import LeaderboardService
from app.services.support import idempotency
from app.services.tournaments import corrections, states
from app.services.tournaments import setup as tournaments_service
from app.services.tournaments.lookup import get_tournament
from app.timestamps import iso_z


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


def read_body(declaration: Obj) -> dict[str, Any]:
    """The JSON body read through its declaration (app/services/inputs/api_bodies.py: what the
    OpenAPI document states), 400 naming the first bad field."""
    return api_bodies.check(declaration, json_body())


def _versioned(tournament: Tournament, payload: Any):
    """JSON with an ETag on the results version, so pollers get a cheap 304."""
    response = jsonify(payload)
    response.set_etag(f"{tournament.id}-{tournament.results_version}", weak=True)
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


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
    match_ids = api_bodies.parse_match_ids(request.args.get("match_ids"))
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
    body = read_body(api_bodies.OVERRIDE)
    outcome = LeaderboardService.override_placement(
        ref, body["participant_id"], body["new_rank"], body["reason"], g.api_user.id
    )
    return jsonify(outcome)


@bp.delete("/tournaments/<ref>/override-placement/")
@staff_required
def clear_override(ref: str):
    body = read_body(api_bodies.OVERRIDE_CLEAR)
    outcome = LeaderboardService.clear_override(ref, body["participant_id"], body["reason"], g.api_user.id)
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
    raw = json_body()
    body = api_bodies.check(api_bodies.CORRECTION, raw)
    tournament = get_tournament(ref)
    current = lobbies.lobby_for(tournament, match_id)
    version = current.version if body["version"] is None else body["version"]
    stage = body["stage"] if "stage" in raw else current.stage
    try:
        match, check = lobbies.correct_lobby(tournament.id, match_id, stage, body["results"], version, g.api_user.id)
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
    body = read_body(api_bodies.VOID)
    match = corrections.void_lobby(ref, match_id, body["reason"], g.api_user.id)
    return jsonify(_lobby_payload(match))


@bp.post("/tournaments/<ref>/matches/<dbid:match_id>/restore/")
@staff_required
def restore_match(ref: str, match_id: int):
    body = read_body(api_bodies.RESTORE)
    match = corrections.restore_lobby(ref, match_id, body["reason"], g.api_user.id)
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
    body = read_body(api_bodies.ADJUSTMENT_NEW)
    adjustment = tournaments_service.add_adjustment(
        ref, body["participant_id"], body["points"], body["reason"], g.api_user.id
    )
    return jsonify(_adjustment_payload(adjustment)), 201


@bp.patch("/tournaments/<ref>/adjustments/<dbid:adjustment_id>/")
@staff_required
def adjustment_edit(ref: str, adjustment_id: int):
    body = read_body(api_bodies.ADJUSTMENT_EDIT)
    tournament = get_tournament(ref)
    current = corrections.adjustment_for(tournament, adjustment_id)
    adjustment = corrections.edit_adjustment(
        tournament.id,
        adjustment_id,
        current.points if body["points"] is None else body["points"],
        current.reason if body["reason"] is None else body["reason"],
        g.api_user.id,
        note=body["note"],
    )
    return jsonify(_adjustment_payload(adjustment))


@bp.delete("/tournaments/<ref>/adjustments/<dbid:adjustment_id>/")
@staff_required
def adjustment_delete(ref: str, adjustment_id: int):
    body = read_body(api_bodies.ADJUSTMENT_DELETE)
    deleted = corrections.delete_adjustment(ref, adjustment_id, body["reason"], g.api_user.id)
    return jsonify(deleted=True, id=adjustment_id, **deleted)


@bp.post("/tournaments/<ref>/matches/<dbid:match_id>/state/")
@staff_required
def match_state(ref: str, match_id: int):
    body = read_body(api_bodies.MATCH_STATE)
    # A dispute needs a reason (what is contested, by whom): the portal's rule, lobbies.move_match.
    match = lobbies.move_match(
        ref, match_id, body["state"], body["reason"], g.api_user.id, winner=body["winner"], score=body["score"]
    )
    return jsonify(match_id=match.id, key=match.key, state=match.state)


@bp.post("/tournaments/<ref>/complete/")
@staff_required
def complete(ref: str):
    tournament = LeaderboardService.complete_tournament(ref, g.api_user.id)
    return jsonify(_tournament_summary(tournament))
