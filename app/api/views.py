"""API views: parse the request, call a service, return JSON."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g, jsonify, request
from werkzeug.exceptions import BadRequest

from app.api import bp, error_response
from app.api.openapi import openapi_document
from app.auth.tokens import authenticate_api_request
from app.errors import ValidationError
from app.extensions import csrf, db
from app.models import Tournament
from app.services import states
from app.services.leaderboard import LeaderboardService, get_tournament
from app.services.numbers import parse_whole
from app.services.text import check_json, integral_numbers

MAX_MATCH_IDS = 1000


def staff_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """401 without credentials, 403 for non-staff. A browser session must also send its CSRF
    token (X-CSRFToken header); a bearer token needs none, since no browser sends it unasked."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        user, method = authenticate_api_request()
        if user is None:
            message = "invalid or revoked API token" if method == "bearer" else "authentication required"
            response = error_response(401, message)
            response[0].headers["WWW-Authenticate"] = 'Bearer realm="deltacrown"'
            return response
        if not user.can_staff:
            return error_response(403, "staff only")
        if method == "session":
            csrf.protect()
        g.api_user = user
        return view(*args, **kwargs)

    return wrapper


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
    return jsonify(openapi_document())


@bp.get("/tournaments/")
def tournaments():
    rows = db.session.scalars(db.select(Tournament).order_by(Tournament.created_at.desc(), Tournament.id.desc()))
    return jsonify([_tournament_summary(t) for t in rows])


@bp.get("/tournaments/<ref>/")
def tournament(ref: str):
    return jsonify(_tournament_summary(get_tournament(ref)))


@bp.get("/tournaments/<ref>/leaderboard/")
def leaderboard(ref: str):
    tournament = get_tournament(ref)
    match_ids = _parse_match_ids(request.args.get("match_ids"))
    stage = request.args.get("stage")
    rows = LeaderboardService.calculate_br_standings(tournament.id, match_ids=match_ids, stage=stage)
    return _versioned(tournament, rows)


@bp.get("/tournaments/<ref>/series/<int(max=2147483647):match_id>/")
def series(ref: str, match_id: int):
    tournament = get_tournament(ref)
    return _versioned(tournament, LeaderboardService.series_summary_for_match(tournament.id, match_id))


@bp.get("/tournaments/<ref>/results/")
def results(ref: str):
    tournament = get_tournament(ref)
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
    match = states.record_br_match(ref, json_body(), g.api_user.id)
    return jsonify(match_id=match.id, key=match.key), 201


@bp.post("/tournaments/<ref>/matches/<int(max=2147483647):match_id>/state/")
@staff_required
def match_state(ref: str, match_id: int):
    body = json_body()
    state = body.get("state")
    if not isinstance(state, str):
        raise ValidationError("state: required, one of scheduled, live, completed, disputed, cancelled")
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ValidationError("reason: must be text")
    match = states.change_match_state(
        ref, match_id, state, g.api_user.id, reason, winner=body.get("winner"), score=body.get("score")
    )
    return jsonify(match_id=match.id, key=match.key, state=match.state)


@bp.post("/tournaments/<ref>/complete/")
@staff_required
def complete(ref: str):
    tournament = LeaderboardService.complete_tournament(ref, g.api_user.id)
    return jsonify(_tournament_summary(tournament))
