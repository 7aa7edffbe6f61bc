"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json.

Kept beside the views and checked by tests against the app's URL map, so it cannot silently
drift from the routes it describes."""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Bad input (the message names the field)",
        401: "No or invalid credentials",
        403: "Not staff",
        404: "Unknown tournament, match or participant",
        409: "Not allowed in the current state",
    }
    return {str(c): {"description": text[c], "content": {"application/json": {"schema": _ERROR}}} for c in codes}


def _ok(schema: dict[str, Any], description: str = "OK", code: str = "200") -> dict[str, Any]:
    return {code: {"description": description, "content": {"application/json": {"schema": schema}}}}


_REF = {
    "name": "ref",
    "in": "path",
    "required": True,
    "description": "The tournament's numeric id or its slug",
    "schema": {"type": "string"},
}
_MATCH = {"name": "match_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_STAFF = [{"bearer": []}, {"session": []}]

_NULLABLE_INT = {"type": ["integer", "null"]}
_NULLABLE_STR = {"type": ["string", "null"]}

STANDINGS_ROW = {
    "type": "object",
    "required": [
        "rank",
        "participant_id",
        "participant_name",
        "total_points",
        "placement_points",
        "kill_points",
        "adjustment_points",
        "total_kills",
        "wins",
        "best_placement",
        "matches_played",
        "avg_placement",
        "tiebreaker_timestamp",
        "decided_by",
    ],
    "properties": {
        "rank": {"type": "integer", "minimum": 1},
        "participant_id": {"type": "string"},
        "participant_name": {"type": "string"},
        "total_points": {"type": "integer"},
        "placement_points": {"type": "integer"},
        "kill_points": {"type": "integer"},
        "adjustment_points": {"type": "integer"},
        "total_kills": {"type": "integer"},
        "wins": {"type": "integer"},
        "best_placement": {"type": "integer"},
        "matches_played": {"type": "integer"},
        "avg_placement": {"type": "number", "description": "Rounded to 2 places, half up"},
        "tiebreaker_timestamp": {"type": "string", "format": "date-time"},
        "decided_by": {
            "type": ["string", "null"],
            "description": "The first key on which this row differs from the row above; null for the first row and "
            "for a row sharing the rank above",
        },
    },
}

SERIES_SUMMARY = {
    "type": "object",
    "required": ["series_id", "best_of", "wins_needed", "status", "series_winner_id", "series_score", "games"],
    "properties": {
        "series_id": {"type": "integer"},
        "best_of": {"type": "integer", "enum": [1, 2, 3, 5, 7]},
        "wins_needed": {"type": "integer"},
        "status": {"type": "string", "enum": ["in_progress", "completed", "draw", "forfeit"]},
        "series_winner_id": _NULLABLE_STR,
        "series_score": {"type": "object", "additionalProperties": {"type": "integer"}},
        "games": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "match_id": {"type": "integer"},
                    "game_number": {"type": "integer"},
                    "winner_id": _NULLABLE_STR,
                    "score": {"type": ["object", "null"], "additionalProperties": {"type": "integer"}},
                },
            },
        },
    },
}

RESULT_ROW = {
    "type": "object",
    "required": ["rank", "participant_id", "is_override", "override_reason"],
    "properties": {
        "rank": {"type": "integer"},
        "participant_id": {"type": "string"},
        "participant_name": {"type": "string"},
        "is_override": {"type": "boolean"},
        "override_reason": _NULLABLE_STR,
        "override_actor_id": _NULLABLE_INT,
        "override_timestamp": {"type": ["string", "null"], "format": "date-time"},
        "frozen_rank": {"type": "integer"},
        "total_points": {"type": "integer"},
        "wins": {"type": "integer"},
        "total_kills": _NULLABLE_INT,
        "best_placement": _NULLABLE_INT,
        "avg_placement": {"type": ["number", "null"]},
        "matches_played": {"type": "integer"},
        "series_score": {"type": ["object", "null"]},
        "game_results": {"type": ["array", "null"]},
    },
}

OVERRIDE_REQUEST = {
    "type": "object",
    "required": ["participant_id", "new_rank", "reason"],
    "properties": {
        "participant_id": {"type": "string", "minLength": 1},
        "new_rank": {"type": "integer", "minimum": 1},
        "reason": {"type": "string", "minLength": 10, "maxLength": 500},
    },
}

OVERRIDE_RESPONSE = {
    "type": "object",
    "properties": {
        "success": {"type": "boolean"},
        "result_id": {"type": "integer"},
        "participant_id": {"type": "string"},
        "old_rank": {"type": "integer"},
        "new_rank": {"type": "integer"},
        "override_reason": _NULLABLE_STR,
        "override_actor_id": _NULLABLE_INT,
        "override_timestamp": {"type": ["string", "null"], "format": "date-time"},
    },
}

MATCH_ENTRY = {
    "type": "object",
    "required": ["results"],
    "properties": {
        "key": {"type": "string", "description": "Optional; one is made up when absent"},
        "stage": _NULLABLE_STR,
        "state": {
            "type": "string",
            "enum": ["scheduled", "live", "completed", "disputed", "cancelled"],
            "default": "completed",
        },
        "completed_at": {"type": ["string", "null"], "format": "date-time"},
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["participant", "placement", "kills"],
                "properties": {
                    "participant": {"type": "string"},
                    "placement": {"type": "integer", "minimum": 1},
                    "kills": {"type": "integer", "minimum": 0},
                },
            },
        },
    },
}

TOURNAMENT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "slug": {"type": "string"},
        "name": {"type": "string"},
        "game": {"type": "string"},
        "status": {"type": "string", "enum": ["draft", "registration", "live", "completed"]},
        "kind": {"type": "string", "enum": ["battle_royale", "series"]},
        "scoring_preset": _NULLABLE_STR,
        "advancing": {
            "type": ["integer", "null"],
            "minimum": 1,
            "description": "the top N qualify (the advancement line); null: no line",
        },
        "results_version": {"type": "integer"},
    },
}


def openapi_document() -> dict[str, Any]:
    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "DeltaCrown Leaderboards API",
            "version": "1.0.0",
            "description": "Standings, series summaries and final results of esports tournaments. Staff "
            "endpoints accept `Authorization: Bearer <token>` (from `flask users token`) or a logged-in "
            "staff session with its CSRF token in `X-CSRFToken`. Read endpoints send a weak ETag that "
            "changes with every result change.",
        },
        "paths": {
            "/api/tournaments/": {
                "get": {
                    "summary": "List tournaments",
                    "responses": _ok({"type": "array", "items": TOURNAMENT}),
                }
            },
            "/api/tournaments/{ref}/": {
                "get": {
                    "summary": "One tournament",
                    "parameters": [_REF],
                    "responses": {**_ok(TOURNAMENT), **_errors(404)},
                }
            },
            "/api/tournaments/{ref}/leaderboard/": {
                "get": {
                    "summary": "Battle-royale standings",
                    "parameters": [
                        _REF,
                        {
                            "name": "match_ids",
                            "in": "query",
                            "description": "Comma-separated match ids to count",
                            "schema": {"type": "string", "pattern": r"^\d+(,\d+)*$"},
                        },
                        {
                            "name": "stage",
                            "in": "query",
                            "description": "Count one stage",
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {**_ok({"type": "array", "items": STANDINGS_ROW}), **_errors(400, 404)},
                }
            },
            "/api/tournaments/{ref}/series/{match_id}/": {
                "get": {
                    "summary": "Summary of the series a game belongs to",
                    "parameters": [_REF, _MATCH],
                    "responses": {**_ok(SERIES_SUMMARY), **_errors(400, 404)},
                }
            },
            "/api/tournaments/{ref}/results/": {
                "get": {
                    "summary": "Final results (after completion)",
                    "parameters": [_REF],
                    "responses": {**_ok({"type": "array", "items": RESULT_ROW}), **_errors(404, 409)},
                }
            },
            "/api/tournaments/{ref}/override-placement/": {
                "post": {
                    "summary": "Pin a participant's final rank (staff)",
                    "parameters": [_REF],
                    "security": _STAFF,
                    "requestBody": body(OVERRIDE_REQUEST),
                    "responses": {**_ok(OVERRIDE_RESPONSE), **_errors(400, 401, 403, 404, 409)},
                },
                "delete": {
                    "summary": "Clear a participant's override (staff)",
                    "parameters": [_REF],
                    "security": _STAFF,
                    "requestBody": body(
                        {
                            "type": "object",
                            "required": ["participant_id", "reason"],
                            "properties": {
                                "participant_id": {"type": "string", "minLength": 1},
                                "reason": {"type": "string", "minLength": 10, "maxLength": 500},
                            },
                        }
                    ),
                    "responses": {**_ok(OVERRIDE_RESPONSE), **_errors(400, 401, 403, 404, 409)},
                },
            },
            "/api/tournaments/{ref}/matches/": {
                "post": {
                    "summary": "Record one battle-royale lobby (staff)",
                    "parameters": [_REF],
                    "security": _STAFF,
                    "requestBody": body(MATCH_ENTRY),
                    "responses": {
                        **_ok(
                            {
                                "type": "object",
                                "properties": {"match_id": {"type": "integer"}, "key": {"type": "string"}},
                            },
                            "Created",
                            "201",
                        ),
                        **_errors(400, 401, 403, 404, 409),
                    },
                }
            },
            "/api/tournaments/{ref}/matches/{match_id}/state/": {
                "post": {
                    "summary": "Move a match to another state (staff)",
                    "parameters": [_REF, _MATCH],
                    "security": _STAFF,
                    "requestBody": body(
                        {
                            "type": "object",
                            "required": ["state"],
                            "properties": {
                                "state": {
                                    "type": "string",
                                    "enum": ["scheduled", "live", "completed", "disputed", "cancelled"],
                                },
                                "reason": {"type": "string", "maxLength": 500},
                                "winner": {
                                    "type": "string",
                                    "description": "Series games only, when completing: the winning participant id",
                                },
                                "score": {
                                    "type": "object",
                                    "additionalProperties": {"type": "integer", "minimum": 0},
                                    "description": "Series games only: both participants' scores",
                                },
                            },
                        }
                    ),
                    "responses": {
                        **_ok(
                            {
                                "type": "object",
                                "properties": {
                                    "match_id": {"type": "integer"},
                                    "key": {"type": "string"},
                                    "state": {"type": "string"},
                                },
                            }
                        ),
                        **_errors(400, 401, 403, 404, 409),
                    },
                }
            },
            "/api/tournaments/{ref}/complete/": {
                "post": {
                    "summary": "Complete the tournament and freeze its results (staff)",
                    "parameters": [_REF],
                    "security": _STAFF,
                    "responses": {**_ok(TOURNAMENT), **_errors(401, 403, 404, 409)},
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }
