"""The components of the OpenAPI document (app/api/openapi.py): the response schemas, the shared
parameters and the request schemas generated from app/services/inputs/api_bodies.py and
fieldspec.py. Only the responses are written by hand here; see openapi.py's docstring for what
JSON Schema cannot say and where that is said instead."""

from __future__ import annotations

from typing import Any

from app.models import EntryPaymentStatus, EntryStatus
from app.services.inputs import api_bodies, fieldspec
from app.services.inputs.fieldspec import (
    STORABLE_FORMAT,
    TEXT_PATTERN,
)
from app.services.standings.engine import STANDINGS_FIELDS
from app.services.tournaments.file import lobby_schema

ERROR_REF = {"$ref": "#/components/schemas/Error"}

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


KEY_NAMES = fieldspec.KEY_NAMES


def errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Bad input (the message names the field)",
        401: "No or invalid credentials",
        403: "Not staff",
        404: "Unknown tournament, match or participant",
        409: "Not allowed in the current state",
    }
    return {str(c): {"description": text[c], "content": {"application/json": {"schema": ERROR_REF}}} for c in codes}


def ok(schema: dict[str, Any], description: str = "OK", code: str = "200") -> dict[str, Any]:
    return {code: {"description": description, "content": {"application/json": {"schema": schema}}}}


REF_PARAM = {
    "name": "ref",
    "in": "path",
    "required": True,
    "description": "The tournament's numeric id or its slug",
    "schema": {"type": "string", "minLength": 1, "format": STORABLE_FORMAT, "pattern": TEXT_PATTERN},
}
MATCH_PARAM = {
    "name": "match_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DB_ID},
}
STAFF = [{"bearer": []}, {"session": []}]

NULLABLE_INT = {"type": ["integer", "null"]}
NULLABLE_STR = {"type": ["string", "null"]}

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
        "series_winner_id": NULLABLE_STR,
        "series_score": {"type": "object", "additionalProperties": {"type": "integer"}},
        "games": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "match_id": {"type": "integer"},
                    "game_number": {"type": "integer"},
                    "winner_id": NULLABLE_STR,
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
        "override_reason": NULLABLE_STR,
        "override_actor_id": NULLABLE_INT,
        "override_timestamp": {"type": ["string", "null"], "format": "date-time"},
        "frozen_rank": {"type": "integer"},
        "total_points": {"type": "integer"},
        "wins": {"type": "integer"},
        "total_kills": NULLABLE_INT,
        "best_placement": NULLABLE_INT,
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
        "override_reason": NULLABLE_STR,
        "override_actor_id": NULLABLE_INT,
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
        "stage": NULLABLE_STR,
        "state": {"type": "string"},
        "version": {"type": "integer", "description": "Send it back with a correction to refuse a stale one"},
        "voided": {"type": "boolean", "description": "A voided lobby keeps its state and results but never counts"},
        "void_reason": NULLABLE_STR,
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
ADJUSTMENT_PARAM = {
    "name": "adjustment_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DB_ID},
}
IDEMPOTENCY_KEY = {
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
        "scoring_preset": NULLABLE_STR,
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
        "participant_id",
    ],
    "properties": {
        "id": {"type": "integer"},
        "code": {"type": "string"},
        "team_name": {"type": "string"},
        "tag": NULLABLE_STR,
        "status": {"type": "string", "enum": REGISTRATION_STATUSES},
        "payment_status": {"type": "string", "enum": PAYMENT_STATUSES},
        "captain_id": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"},
        "payment_deadline": {"type": ["string", "null"], "format": "date-time"},
        "waitlist_position": {"type": ["integer", "null"], "minimum": 1},
        "checked_in": {"type": "boolean"},
        "participant_id": NULLABLE_STR,
    },
}

RID_PARAM = {
    "name": "rid",
    "in": "path",
    "required": True,
    "description": "The registration's id",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DB_ID},
}
PLAYER = [{"bearer": []}, {"session": []}]
