"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json.

Kept beside the views and checked by tests against the app's URL map, so it cannot silently
drift from the routes it describes. Request schemas are generated from the declarations the
server reads them with: every body from app/services/inputs/api_bodies.py (the lobby body from the
tournament file's rules, which that module reuses), text from app/services/inputs/fieldspec.py (no NUL:
the patterns; no unpaired surrogate: the format `storable-text`), the `match_ids` form from the
limits `api_bodies.parse_match_ids` applies, ids from the models' bound. What JSON Schema cannot
say, or cannot say in a form today's tools read (a participant that exists, placements unique
within a lobby, text and depth deep inside the value of an ignored key:
`fieldspec.storable_json_components`), is said in the descriptions and answered with 400, 404 or
409; tests/services/inputs/test_schema_corpus.py proves the rest against the server. Only the responses are
written here.

Patterns are negated character classes and short alternations: generators (schemathesis,
hypothesis) draw from them in milliseconds, where the earlier astral-range classes took 40-160 s
per body.
"""

from __future__ import annotations

from typing import Any

from app.models import EntryPaymentStatus, EntryStatus
from app.services.inputs import api_bodies, fieldspec
from app.services.inputs.fieldspec import (
    FORMAT_DESCRIPTION,
    NAME_PATTERN,
    NON_BLANK_PATTERN,
    STORABLE_FORMAT,
    TEXT_PATTERN,
)
from app.services.inputs.fieldspec import TIMESTAMP_PATTERN as TIMESTAMP_PATTERN
from app.services.registration import entries
from app.services.standings.engine import STANDINGS_FIELDS
from app.services.tournaments.file import lobby_schema

__all__ = ["NAME_PATTERN", "NON_BLANK_PATTERN", "TEXT_PATTERN", "MATCH_IDS_PATTERN", "openapi_document"]

_ERROR = {"$ref": "#/components/schemas/Error"}

MAX_DB_ID = api_bodies.MAX_DB_ID
MAX_MATCH_IDS = api_bodies.MAX_MATCH_IDS
MAX_ID_DIGITS = api_bodies.MAX_ID_DIGITS


def _id_with_zeros(bound: int, max_digits: int) -> str:
    """An id in 1..bound, written with leading zeros up to `max_digits` digits in all (what
    `parse_whole(part, max_digits=...)` then the range check accept), without look-ahead."""
    width = len(str(bound))
    alternatives = [f"0{{0,{max_digits - n}}}[1-9]" + (f"[0-9]{{{n - 1}}}" if n > 1 else "") for n in range(1, width)]
    alternatives.append(f"0{{0,{max_digits - width}}}(?:{fieldspec.full_width_at_most(bound)})")
    return "(?:" + "|".join(alternatives) + ")"


_SPACE = f"[{fieldspec.WHITESPACE}]"
_ID_PART = f"{_SPACE}*{_id_with_zeros(MAX_DB_ID, MAX_ID_DIGITS)}{_SPACE}*"
MATCH_IDS_PATTERN = f"^{_ID_PART}(?:,{_ID_PART}){{0,{MAX_MATCH_IDS - 1}}}$"


_KEY_NAMES = fieldspec.KEY_NAMES


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
    "schema": {"type": "string", "minLength": 1, "format": STORABLE_FORMAT, "pattern": TEXT_PATTERN},
}
_MATCH = {
    "name": "match_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DB_ID},
}
_STAFF = [{"bearer": []}, {"session": []}]

_NULLABLE_INT = {"type": ["integer", "null"]}
_NULLABLE_STR = {"type": ["string", "null"]}

STANDINGS_ROW = {
    "type": "object",
    "required": list(STANDINGS_FIELDS),
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
        "series_score": {"type": ["object", "null"], "additionalProperties": {"type": "integer"}},
        "game_results": {
            "type": ["array", "null"],
            "items": {"type": "object", "additionalProperties": True},
            "description": "Series tournaments: one entry per game played",
        },
    },
}

OVERRIDE_REQUEST = api_bodies.OVERRIDE.schema()

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
    **lobby_schema(),
    "description": "One lobby, as one entry of a tournament file's `matches` (unknown keys are refused). "
    "Each participant must be one of the tournament's, listed once, and placements must differ.",
}

LOBBY = {
    "type": "object",
    "required": ["match_id", "key", "state", "version", "voided", "results"],
    "properties": {
        "match_id": {"type": "integer"},
        "key": {"type": "string"},
        "stage": _NULLABLE_STR,
        "state": {"type": "string"},
        "version": {"type": "integer", "description": "Send it back with a correction to refuse a stale one"},
        "voided": {"type": "boolean", "description": "A voided lobby keeps its state and results but never counts"},
        "void_reason": _NULLABLE_STR,
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "participant": {"type": "string"},
                    "placement": {"type": "integer"},
                    "kills": {"type": "integer"},
                },
            },
        },
    },
}

CORRECTION_REQUEST = api_bodies.CORRECTION.schema()

ADJUSTMENT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "participant_id": {"type": "string"},
        "points": {"type": "integer"},
        "reason": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
    },
}
_ADJUSTMENT = {
    "name": "adjustment_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DB_ID},
}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Optional, 1-255 printable ASCII characters, scoped to the caller and kept 24 hours. "
    "The same key with the same body answers the first answer again (with `Idempotent-Replayed: true`) "
    "and records nothing; the same key with another body is refused with 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
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


REGISTRATION_STATUSES = [status.value for status in EntryStatus]
PAYMENT_STATUSES = [status.value for status in EntryPaymentStatus]
# The response states what the request accepts, with the defaults filled in.
REGISTRATION_SETTINGS = api_bodies.SETTINGS.schema()

REGISTRATION_ROW = {
    "type": "object",
    "required": [
        "id",
        "code",
        "team_name",
        "tag",
        "status",
        "payment_status",
        "captain_id",
        "created_at",
        "payment_deadline",
        "waitlist_position",
        "checked_in",
    ],
    "properties": {
        "id": {"type": "integer"},
        "code": {"type": "string"},
        "team_name": {"type": "string"},
        "tag": _NULLABLE_STR,
        "status": {"type": "string", "enum": REGISTRATION_STATUSES},
        "payment_status": {"type": "string", "enum": PAYMENT_STATUSES},
        "captain_id": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"},
        "payment_deadline": {"type": ["string", "null"], "format": "date-time"},
        "waitlist_position": {"type": ["integer", "null"], "minimum": 1},
        "checked_in": {"type": "boolean"},
    },
}

_RID = {
    "name": "rid",
    "in": "path",
    "required": True,
    "description": "The registration's id",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DB_ID},
}
_PLAYER = [{"bearer": []}, {"session": []}]


def _registration_paths(body: Any) -> dict[str, Any]:
    def action(summary: str, request: dict[str, Any] | None, codes: tuple[int, ...]) -> dict[str, Any]:
        operation: dict[str, Any] = {
            "summary": summary,
            "parameters": [_REF, _RID],
            "security": _PLAYER,
            "responses": {**_ok(REGISTRATION_ROW), **_errors(*codes)},
        }
        if request is not None:
            operation["requestBody"] = body(request)
        return {"post": operation}

    return {
        "/api/tournaments/{ref}/registration/": {
            "get": {
                "summary": "Registration settings (anyone)",
                "parameters": [_REF],
                "responses": {**_ok(REGISTRATION_SETTINGS), **_errors(404)},
            },
            "put": {
                "summary": "Set the registration settings (staff)",
                "parameters": [_REF],
                "security": _STAFF,
                "requestBody": body(REGISTRATION_SETTINGS),
                "responses": {**_ok(REGISTRATION_SETTINGS), **_errors(400, 401, 403, 404, 409)},
            },
        },
        "/api/tournaments/{ref}/registrations/": {
            "get": {
                "summary": "Registrations: all for staff (queue order), the caller's own for a player",
                "parameters": [
                    _REF,
                    {
                        "name": "status",
                        "in": "query",
                        "description": "Staff: a status, proof_submitted or refund_requested",
                        "schema": {
                            "type": "string",
                            # Empty: no filter (the view reads `?status=` as absent).
                            "enum": ["", *REGISTRATION_STATUSES, *entries.QUEUE_FILTERS],
                        },
                    },
                ],
                "security": _PLAYER,
                "responses": {**_ok({"type": "array", "items": REGISTRATION_ROW}), **_errors(400, 401, 404)},
            },
            "post": {
                "summary": "Register a team with the caller as captain (any logged-in player)",
                "parameters": [_REF],
                "security": _PLAYER,
                "requestBody": body(api_bodies.REGISTER.schema()),
                "responses": {
                    **_ok(
                        {
                            "type": "object",
                            "required": ["id", "code", "status", "payment_deadline", "waitlist_position"],
                            "properties": {
                                "id": {"type": "integer"},
                                "code": {"type": "string"},
                                "status": {
                                    "type": "string",
                                    "enum": ["pending_payment", "confirmed", "waitlisted", "awaiting_approval"],
                                },
                                "payment_deadline": {"type": ["string", "null"], "format": "date-time"},
                                "waitlist_position": {"type": ["integer", "null"]},
                            },
                        },
                        "Created",
                        "201",
                    ),
                    **_errors(400, 401, 404, 409),
                },
            },
        },
        "/api/tournaments/{ref}/registrations/{rid}/payment/": action(
            "Submit proof of payment (the captain)",
            api_bodies.PAYMENT.schema(),
            (400, 401, 404, 409),
        ),
        "/api/tournaments/{ref}/registrations/{rid}/decision/": {
            "post": {
                "summary": "Decide on a registration (staff); verify emits payment.verified, refund payment.refunded",
                "parameters": [_REF, _RID],
                "security": _STAFF,
                "requestBody": body(api_bodies.DECISION.schema()),
                "responses": {**_ok(REGISTRATION_ROW), **_errors(400, 401, 403, 404, 409)},
            }
        },
        "/api/tournaments/{ref}/registrations/{rid}/withdraw/": action(
            "Withdraw the team before the start (the captain)", None, (401, 404, 409)
        ),
        "/api/tournaments/{ref}/registrations/{rid}/check-in/": action(
            "Check the team in during the check-in window (the captain)", None, (401, 404, 409)
        ),
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
            "staff session with its CSRF token in `X-CSRFToken`; registration's player endpoints accept the "
            "same from any logged-in user. Read endpoints send a weak ETag that changes with every result "
            "change. A draft tournament is not found (404) except by staff. Text formats: "
            f"{FORMAT_DESCRIPTION}.",
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
                            "description": "Comma-separated match ids to count (1 to 1000 ids)",
                            "schema": {"type": "string", "pattern": MATCH_IDS_PATTERN},
                        },
                        {
                            "name": "stage",
                            "in": "query",
                            "description": "Count one stage",
                            "schema": fieldspec.text_schema(),
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
                    "requestBody": body(api_bodies.OVERRIDE_CLEAR.schema()),
                    "responses": {**_ok(OVERRIDE_RESPONSE), **_errors(400, 401, 403, 404, 409)},
                },
            },
            "/api/tournaments/{ref}/matches/": {
                "post": {
                    "summary": "Record one battle-royale lobby (staff)",
                    "description": "A key a saved lobby already has is refused with 409 naming that lobby.",
                    "parameters": [_REF, _IDEMPOTENCY_KEY],
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
                    "requestBody": body(api_bodies.MATCH_STATE.schema()),
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
            "/api/tournaments/{ref}/matches/{match_id}/results/": {
                "put": {
                    "summary": "Correct a lobby's results (staff)",
                    "description": "Replaces the results; audited with before and after. Refused (409) after "
                    "completion and when `version` is stale.",
                    "parameters": [_REF, _MATCH],
                    "security": _STAFF,
                    "requestBody": body(CORRECTION_REQUEST),
                    "responses": {**_ok(LOBBY), **_errors(400, 401, 403, 404, 409)},
                }
            },
            "/api/tournaments/{ref}/matches/{match_id}/void/": {
                "post": {
                    "summary": "Void a lobby entered by mistake (staff)",
                    "description": "It stops counting; nobody is mailed; only `leaderboard.updated` is sent. "
                    "409 when already voided or the tournament is completed.",
                    "parameters": [_REF, _MATCH],
                    "security": _STAFF,
                    "requestBody": body(api_bodies.VOID.schema()),
                    "responses": {**_ok(LOBBY), **_errors(400, 401, 403, 404, 409)},
                }
            },
            "/api/tournaments/{ref}/matches/{match_id}/restore/": {
                "post": {
                    "summary": "Restore a voided lobby (staff)",
                    "description": "It counts again exactly as before it was voided.",
                    "parameters": [_REF, _MATCH],
                    "security": _STAFF,
                    "requestBody": body(api_bodies.RESTORE.schema()),
                    "responses": {**_ok(LOBBY), **_errors(400, 401, 403, 404, 409)},
                }
            },
            "/api/tournaments/{ref}/adjustments/": {
                "get": {
                    "summary": "Point adjustments, newest first (staff)",
                    "parameters": [_REF],
                    "security": _STAFF,
                    "responses": {**_ok({"type": "array", "items": ADJUSTMENT}), **_errors(401, 403, 404)},
                },
                "post": {
                    "summary": "Add a penalty or bonus (staff)",
                    "parameters": [_REF],
                    "security": _STAFF,
                    "requestBody": body(api_bodies.ADJUSTMENT_NEW.schema()),
                    "responses": {**_ok(ADJUSTMENT, "Created", "201"), **_errors(400, 401, 403, 404, 409)},
                },
            },
            "/api/tournaments/{ref}/adjustments/{adjustment_id}/": {
                "patch": {
                    "summary": "Edit an adjustment's points or reason (staff)",
                    "description": "Audited with before and after; `note` (optional) says why it changed.",
                    "parameters": [_REF, _ADJUSTMENT],
                    "security": _STAFF,
                    "requestBody": body(api_bodies.ADJUSTMENT_EDIT.schema()),
                    "responses": {**_ok(ADJUSTMENT), **_errors(400, 401, 403, 404, 409)},
                },
                "delete": {
                    "summary": "Delete an adjustment (staff)",
                    "parameters": [_REF, _ADJUSTMENT],
                    "security": _STAFF,
                    "requestBody": body(api_bodies.ADJUSTMENT_DELETE.schema()),
                    "responses": {
                        **_ok(
                            {
                                "type": "object",
                                "properties": {
                                    "deleted": {"type": "boolean"},
                                    "id": {"type": "integer"},
                                    "participant_id": {"type": "string"},
                                    "points": {"type": "integer"},
                                    "reason": {"type": "string"},
                                },
                            }
                        ),
                        **_errors(400, 401, 403, 404, 409),
                    },
                },
            },
            "/api/tournaments/{ref}/complete/": {
                "post": {
                    "summary": "Complete the tournament and freeze its results (staff)",
                    "parameters": [_REF],
                    "security": _STAFF,
                    "responses": {**_ok(TOURNAMENT), **_errors(401, 403, 404, 409)},
                }
            },
            **_registration_paths(body),
        },
        "components": {
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                **fieldspec.storable_json_components(),
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }
