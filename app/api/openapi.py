"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json.

Kept beside the views and checked by tests against the app's URL map, so it cannot silently
drift from the routes it describes. Request schemas say what the server accepts, not more, and
are generated from the rules the server checks: the lobby body from the tournament file's rules
(app/services/tournament_file/rules.py), every text field from app/services/fieldspec.py (no
NUL: the patterns; no unpaired surrogate: the format `storable-text`), the `match_ids` form from
the view's own limits, and ids in 1..2**31-1. What JSON Schema cannot say, or cannot say in a
form today's tools read (a participant that exists, placements unique within a lobby, text and
depth deep inside the value of an ignored key: `_storable_json`), is said in the descriptions
and answered with 400 or 404; tests/test_schema_corpus.py proves the rest against the server.

Patterns are negated character classes and short alternations: generators (schemathesis,
hypothesis) draw from them in milliseconds, where the earlier astral-range classes took 40-160 s
per body.
"""

from __future__ import annotations

from typing import Any

from app.services import entries, fieldspec
from app.services.corrections import MIN_VOID_REASON
from app.services.fieldspec import FORMAT_DESCRIPTION, NAME_PATTERN, NON_BLANK_PATTERN, STORABLE_FORMAT, TEXT_PATTERN
from app.services.fieldspec import TIMESTAMP_PATTERN as TIMESTAMP_PATTERN
from app.services.placement_overrides import MIN_REASON_LENGTH
from app.services.standings import STANDINGS_FIELDS
from app.services.text import MAX_JSON_DEPTH
from app.services.tournament_file import MAX_KEY, MAX_REASON, lobby_schema

__all__ = ["NAME_PATTERN", "NON_BLANK_PATTERN", "TEXT_PATTERN", "MATCH_IDS_PATTERN", "openapi_document"]

_ERROR = {"$ref": "#/components/schemas/Error"}
_ANY_STORABLE = {"$ref": "#/components/schemas/StorableJson"}

# A database id: 1 to 2147483647 (32-bit), ASCII digits only.
MAX_DB_ID = 2**31 - 1
# `match_ids`: the view's limits (app/api/views.py `_parse_match_ids`).
MAX_MATCH_IDS = 1000
MAX_ID_DIGITS = 18


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


def _text(
    max_length: int | None = None, *, blank: bool = True, min_stripped: int | None = None, **extra: Any
) -> dict[str, Any]:
    if min_stripped is None:
        min_stripped = 0 if blank else 1
    return fieldspec.text_schema(max_length, min_stripped=min_stripped, **extra)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "type": [schema["type"], "null"]}


_KEY_NAMES = {"type": "string", "format": STORABLE_FORMAT, "pattern": TEXT_PATTERN}


def _lenient_object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """A body whose unknown keys are ignored, as long as they are storable JSON."""
    return {
        "type": "object",
        "required": required,
        "properties": properties,
        "propertyNames": _KEY_NAMES,
        "additionalProperties": _ANY_STORABLE,
    }


def _storable_json() -> dict[str, Any]:
    """The value of an unknown (ignored) key of a lenient body: storable text, and containers
    whose content is any JSON. The server also refuses NUL or an unpaired surrogate deeper
    inside and bodies nested more than MAX_JSON_DEPTH levels (400); JSON Schema can only say
    that recursively, and neither form serves today's tools: a schema that refers to itself
    stops openapi-python-client ("Could not find reference"), and a 32-level chain of schemas
    makes schemathesis' coverage phase grow exponentially (1,637 cases at 8 levels)."""
    nested = (
        f"Any JSON; text inside must also be storable and the body nested at most {MAX_JSON_DEPTH} levels "
        "(checked by the server, 400)"
    )
    return {
        "StorableJson": {
            "description": "Any JSON value whose text has no NUL or unpaired surrogate",
            "type": ["null", "boolean", "number", "string", "array", "object"],
            "format": STORABLE_FORMAT,
            "pattern": TEXT_PATTERN,
            "items": {"$ref": "#/components/schemas/NestedJson"},
            "propertyNames": _KEY_NAMES,
            "additionalProperties": {"$ref": "#/components/schemas/NestedJson"},
        },
        "NestedJson": {"description": nested},
    }


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
    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
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

OVERRIDE_REQUEST = _lenient_object(
    {
        "participant_id": _text(80, blank=False),
        "new_rank": {"type": "integer", "minimum": 1, "description": "1..number of participants"},
        "reason": _text(MAX_REASON, min_stripped=MIN_REASON_LENGTH),
    },
    ["participant_id", "new_rank", "reason"],
)

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

CORRECTION_REQUEST = _lenient_object(
    {
        "results": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["participant", "placement"],
                "properties": {
                    "participant": _text(80, blank=False),
                    "placement": {"type": "integer", "minimum": 1, "maximum": 100},
                    "kills": {"type": "integer", "minimum": 0, "maximum": 1000, "default": 0},
                },
            },
            "description": "The lobby's whole results, replacing the saved ones",
        },
        "stage": _nullable(_text(80)),
        "version": {
            "type": "integer",
            "description": "The lobby's version as last read; a lobby changed since is refused with 409. "
            "Absent: the current version (last write wins)",
        },
    },
    ["results"],
)

REASON_BODY = _lenient_object(
    {
        "reason": _text(
            MAX_REASON,
            min_stripped=MIN_VOID_REASON,
            description="At least 5 characters once surrounding whitespace is trimmed; kept in the audit log",
        )
    },
    ["reason"],
)
OPTIONAL_REASON_BODY = {
    **_lenient_object({"reason": _nullable(_text(500))}, []),
    "description": "An empty object is fine",
}

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
_POINTS = {
    "type": "integer",
    "minimum": -10000,
    "maximum": 10000,
    "not": {"const": 0},
    "description": "Negative: a penalty; positive: a bonus; never 0",
}
_ADJUSTMENT = {
    "name": "adjustment_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
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


_TIME_OR_NULL = {"type": ["string", "null"], "pattern": TIMESTAMP_PATTERN}
# A decimal amount with at most two decimals, as text or a number (e.g. "500.00", "0", 500).
AMOUNT_PATTERN = r"^[0-9]{1,7}(?:\.[0-9]{1,2})?$"
_AMOUNT = {
    "description": 'A decimal amount, e.g. "500.00"; 0 means free',
    "anyOf": [
        {"type": "string", "pattern": AMOUNT_PATTERN},
        {"type": "number", "minimum": 0, "maximum": 9999999.99, "multipleOf": 0.01},
    ],
}
REGISTRATION_STATUSES = [
    "pending_payment",
    "awaiting_approval",
    "confirmed",
    "waitlisted",
    "rejected",
    "cancelled",
    "withdrawn",
    "no_show",
]
PAYMENT_STATUSES = ["none", "submitted", "verified", "rejected", "waived", "refunded"]
# The registration rules' own limits and forms (app/services/entries.py).
_METHOD_NAME_PATTERN = f"^{entries._METHOD_RE.pattern}$"

REGISTRATION_SETTINGS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["capacity"],
    "properties": {
        "opens_at": _TIME_OR_NULL,
        "closes_at": _TIME_OR_NULL,
        "starts_at": {
            **_TIME_OR_NULL,
            "description": "When play starts: check-in closes and withdrawing ends then (required with check-in)",
        },
        "capacity": {"type": "integer", "minimum": 1, "maximum": entries.MAX_CAPACITY},
        "roster_min": {"type": "integer", "minimum": 1, "maximum": entries.MAX_ROSTER, "default": 1},
        "roster_max": {"type": "integer", "minimum": 1, "maximum": entries.MAX_ROSTER},
        "fee": {
            "type": ["object", "null"],
            "additionalProperties": False,
            "properties": {
                "amount": _AMOUNT,
                "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$", "default": "BDT"},
            },
        },
        "methods": {
            "type": ["array", "null"],
            "maxItems": entries.MAX_METHODS,
            "description": "Required (at least one) when the fee is not 0; names are unique, e.g. bkash, nagad, rocket",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "pattern": _METHOD_NAME_PATTERN},
                    "instructions": _nullable(_text(entries.MAX_INSTRUCTIONS)),
                },
            },
        },
        "payment_deadline_hours": {
            "type": "integer",
            "minimum": 1,
            "maximum": entries.MAX_DEADLINE_HOURS,
            "default": 48,
        },
        "auto_confirm_free": {"type": "boolean", "default": True},
        "check_in_minutes": {"type": ["integer", "null"], "minimum": 1, "maximum": entries.MAX_CHECK_IN_MINUTES},
    },
}

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
    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
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
                            "enum": ["", *REGISTRATION_STATUSES, "proof_submitted", "refund_requested"],
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
                "requestBody": body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["team_name"],
                        "properties": {
                            "team_name": _text(
                                entries.MAX_TEAM_NAME, blank=False, pattern=fieldspec.padded_name_pattern()
                            ),
                            "tag": _nullable(_text(entries.MAX_TAG, pattern=fieldspec.padded_name_pattern(blank=True))),
                        },
                    }
                ),
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
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["method", "transaction_id", "amount"],
                "properties": {
                    "method": {"type": "string", "pattern": _METHOD_NAME_PATTERN},
                    "transaction_id": {"type": "string", "pattern": rf"^\s*{entries._TXN_RE.pattern}\s*$"},
                    "amount": _AMOUNT,
                    "sender_last_digits": {"type": ["string", "null"], "pattern": r"^\s*[0-9]{0,4}\s*$"},
                },
            },
            (400, 401, 404, 409),
        ),
        "/api/tournaments/{ref}/registrations/{rid}/decision/": {
            "post": {
                "summary": "Decide on a registration (staff); verify emits payment.verified, refund payment.refunded",
                "parameters": [_REF, _RID],
                "security": _STAFF,
                "requestBody": body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["decision"],
                        "properties": {
                            "decision": {"type": "string", "enum": ["verify", "reject", "waive", "approve", "refund"]},
                            "reason": _nullable(
                                _text(entries.MAX_REASON, description="Required (not blank) for reject and refund")
                            ),
                            "reference": _nullable(
                                _text(entries.MAX_REFERENCE, description="A refund's transaction reference")
                            ),
                        },
                        "allOf": [
                            {
                                "if": {
                                    "required": ["decision"],
                                    "properties": {"decision": {"enum": sorted(entries.REASON_REQUIRED)}},
                                },
                                "then": {"required": ["reason"], "properties": {"reason": _text(blank=False)}},
                            }
                        ],
                    }
                ),
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
                            "schema": _text(),
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
                        _lenient_object(
                            {
                                "participant_id": _text(MAX_KEY, blank=False),
                                "reason": _text(MAX_REASON, min_stripped=MIN_REASON_LENGTH),
                            },
                            ["participant_id", "reason"],
                        )
                    ),
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
                    "requestBody": body(
                        _lenient_object(
                            {
                                "state": {
                                    "type": "string",
                                    "enum": ["scheduled", "live", "completed", "disputed", "cancelled"],
                                },
                                "reason": _nullable(_text(500)),
                                "winner": _nullable(
                                    _text(
                                        80,
                                        blank=False,
                                        description="Series games only, when completing: the winning participant id",
                                    )
                                ),
                                "score": {
                                    "type": ["object", "null"],
                                    "propertyNames": _KEY_NAMES,
                                    "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 10000},
                                    "description": "Series games only: both participants' scores",
                                },
                            },
                            ["state"],
                        )
                        | {
                            "description": "A dispute needs a reason (what is contested, and by whom). A winner "
                            "and score are given only when completing a series game.",
                            "allOf": [
                                {
                                    "if": {"required": ["state"], "properties": {"state": {"const": "disputed"}}},
                                    "then": {
                                        "required": ["reason"],
                                        "properties": {"reason": _text(MAX_REASON, blank=False)},
                                    },
                                },
                                {
                                    "if": {
                                        "required": ["state"],
                                        "properties": {"state": {"not": {"const": "completed"}}},
                                    },
                                    "then": {"properties": {"winner": {"type": "null"}, "score": {"type": "null"}}},
                                },
                            ],
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
                    "requestBody": body(REASON_BODY),
                    "responses": {**_ok(LOBBY), **_errors(400, 401, 403, 404, 409)},
                }
            },
            "/api/tournaments/{ref}/matches/{match_id}/restore/": {
                "post": {
                    "summary": "Restore a voided lobby (staff)",
                    "description": "It counts again exactly as before it was voided.",
                    "parameters": [_REF, _MATCH],
                    "security": _STAFF,
                    "requestBody": body(OPTIONAL_REASON_BODY),
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
                    "requestBody": body(
                        _lenient_object(
                            {
                                "participant_id": _text(80, blank=False),
                                "points": _POINTS,
                                "reason": _text(MAX_REASON, blank=False),
                            },
                            ["participant_id", "points", "reason"],
                        )
                    ),
                    "responses": {**_ok(ADJUSTMENT, "Created", "201"), **_errors(400, 401, 403, 404, 409)},
                },
            },
            "/api/tournaments/{ref}/adjustments/{adjustment_id}/": {
                "patch": {
                    "summary": "Edit an adjustment's points or reason (staff)",
                    "description": "Audited with before and after; `note` (optional) says why it changed.",
                    "parameters": [_REF, _ADJUSTMENT],
                    "security": _STAFF,
                    "requestBody": body(
                        _lenient_object(
                            {
                                "points": _POINTS,
                                "reason": _text(MAX_REASON, blank=False),
                                "note": _nullable(_text(MAX_REASON)),
                            },
                            [],
                        )
                    ),
                    "responses": {**_ok(ADJUSTMENT), **_errors(400, 401, 403, 404, 409)},
                },
                "delete": {
                    "summary": "Delete an adjustment (staff)",
                    "parameters": [_REF, _ADJUSTMENT],
                    "security": _STAFF,
                    "requestBody": body(_lenient_object({"reason": _text(MAX_REASON, blank=False)}, ["reason"])),
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
                **_storable_json(),
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }
