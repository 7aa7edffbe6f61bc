"""The rules of the tournament file, declared once (contract §2).

Each part of the file is an `Obj` of field rules (app/services/inputs/fieldspec.py): the checking code
in `validation.py` asks these rules for every field (so the limits, choices and messages live
here only), and `json_schema()` / `lobby_schema()` state the same rules as JSON Schema for the
published docs/tournament-file.schema.json and the API's OpenAPI document. Rules between fields
that JSON Schema can say are `conditions` beside the rule they describe; the rest (a participant
that must be declared, unique placements and names, a series decided too early, the winner's
score) are said in descriptions and checked in `validation.py` alone.
"""

from __future__ import annotations

import json
import re
from typing import Any

from app import scoring
from app.errors import ValidationError
from app.models import BATTLE_ROYALE_GAMES, Game, MatchState, TournamentStatus
from app.services.inputs.fieldspec import (
    FORMAT_DESCRIPTION,
    Choice,
    Integer,
    ListOf,
    Member,
    Obj,
    Raw,
    Requiring,
    Rule,
    Shape,
    Text,
    Timestamp,
    describe,
    is_int,
)

FORMAT = "deltacrown.tournament/v1"

SLUG_PATTERN = "^[a-z0-9]+(?:-[a-z0-9]+)*$"
ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]*$"
SLUG_RE = re.compile(SLUG_PATTERN)
ID_RE = re.compile(ID_PATTERN)

MAX_NAME = 200
MAX_SLUG = 80
MAX_KEY = 80
MAX_STAGE = 80
MAX_TAG = 20
MAX_REASON = 500
MAX_PLACEMENT = 100
MAX_KILLS = 1000
MAX_ADJUSTMENT = 10000
MAX_SCORE = 10000
BEST_OF_CHOICES = (1, 2, 3, 5, 7)
MAX_ADVANCING = 100_000

GAMES = tuple(g.value for g in Game)
BR_GAMES = tuple(g for g in GAMES if g in BATTLE_ROYALE_GAMES)
SERIES_GAMES = tuple(g for g in GAMES if g not in BATTLE_ROYALE_GAMES)
STATUSES = tuple(s.value for s in TournamentStatus)
STATES = tuple(s.value for s in MatchState)
# A lobby or game in these states has happened, so the time it ended is known and needed
# (the `earliest_completion` tiebreaker and match ordering use it).
STATES_WITH_TIME = frozenset({MatchState.COMPLETED.value, MatchState.DISPUTED.value})
STATES_WITHOUT_TIME = frozenset({MatchState.SCHEDULED.value, MatchState.LIVE.value})
# The same rule `tournaments complete` applies: results still open to change block completion.
OPEN_STATES = frozenset({MatchState.LIVE.value, MatchState.DISPUTED.value})


def _ordered(states: frozenset[str]) -> list[str]:
    return [s for s in STATES if s in states]


class Advancing(Rule):
    """The advancement line: the top N qualify (optional; null means no line)."""

    description = "The top N qualify (the advancement line)"

    def check(self, value: object, path: str) -> int | None:
        if value is None:
            return None
        if not is_int(value) or value < 1:  # type: ignore[operator]
            found = describe(value) if not is_int(value) else str(value)
            raise ValidationError(f"{path}: must be an integer >= 1, found {found}")
        if value > MAX_ADVANCING:  # type: ignore[operator]
            raise ValidationError(f"{path}: must be <= {MAX_ADVANCING}")
        return value  # type: ignore[return-value]

    def schema(self) -> dict[str, Any]:
        return self._described({"type": "integer", "minimum": 1, "maximum": MAX_ADVANCING})


IDENTIFIER = Text(
    MAX_KEY,
    shape=Shape(ID_PATTERN, "{value} must start with a letter or digit and use only letters, digits, '_', '.' and '-'"),
)
# A reference to a declared participant (checked against the declared ids in code).
PARTICIPANT_REF = Raw(
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY, "pattern": ID_PATTERN},
    description="The id of a participant declared in `participants`",
)
SLUG = Text(
    MAX_SLUG,
    shape=Shape(
        SLUG_PATTERN,
        'must be lowercase letters and digits in words joined by single dashes, like "spring-cup-2025"',
        not_regex="^[0-9]+$",
        not_message="{value} needs a letter; the API reads an all-digit address as a database id",
    ),
)
KEY = Text(MAX_KEY, description="Unique among the tournament's lobbies and series games")
STATE = Choice(STATES)

SCORING = Obj(
    {
        "preset": Member(Choice(scoring.PRESET_NAMES), nullable=True),
        "placement_points": Member(
            Raw(
                {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": scoring.MAX_PLACEMENT_TABLE,
                    "items": {"type": "integer", "minimum": 0, "maximum": scoring.MAX_POINTS},
                },
                description="Points for 1st place onward (preset custom only)",
            )
        ),
        "kill_points": Member(
            Raw({"type": "integer", "minimum": 0, "maximum": scoring.MAX_POINTS}, description="custom only")
        ),
        "tiebreakers": Member(
            Raw(
                {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"enum": [k for k in scoring.TIEBREAKER_KEYS if k != "total_points"]},
                },
                description="custom only; total_points always ranks first",
            ),
            nullable=True,
        ),
    },
    description="Battle-royale games only; the preset defaults to the game's (ffws, pmgc)",
    conditions=(
        {
            "if": {"required": ["preset"], "properties": {"preset": {"const": "custom"}}},
            "then": {"required": ["placement_points", "kill_points"]},
            "else": {"properties": {"placement_points": False, "kill_points": False, "tiebreakers": False}},
        },
    ),
)
CUSTOM_ONLY_KEYS = ("placement_points", "kill_points", "tiebreakers")

TOURNAMENT = Obj(
    {
        "name": Member(Text(MAX_NAME, name=True), required=True),
        "slug": Member(SLUG, required=True),
        "game": Member(Choice(GAMES), required=True),
        "status": Member(Choice(STATUSES), default=TournamentStatus.LIVE.value),
        "advancing": Member(Advancing(), nullable=True),
        "scoring": Member(SCORING, nullable=True),
    },
    conditions=(
        {
            "if": {"required": ["game"], "properties": {"game": {"enum": list(SERIES_GAMES)}}},
            "then": {"properties": {"scoring": {"type": "null"}}},
        },
    ),
)

PARTICIPANT = Obj(
    {
        "id": Member(IDENTIFIER, required=True),
        "name": Member(Text(MAX_NAME, name=True), required=True),
        "tag": Member(Text(MAX_TAG, name=True), nullable=True),
    },
    description="Ids are unique; names differ ignoring case",
)

RESULT = Obj(
    {
        "participant": Member(PARTICIPANT_REF, required=True),
        "placement": Member(Integer(1, MAX_PLACEMENT), required=True),
        "kills": Member(Integer(0, MAX_KILLS), required=True),
    }
)


def _time_conditions(*, time_required: bool) -> tuple[dict[str, Any], ...]:
    """Not played yet: no time it ended; played (the default state): a time, unless the API
    fills in "now" (`time_required` False)."""
    without = {
        "if": {"required": ["state"], "properties": {"state": {"enum": _ordered(STATES_WITHOUT_TIME)}}},
        "then": {"properties": {"completed_at": {"type": "null"}}},
    }
    if not time_required:
        return (without,)
    played = {
        "if": {"properties": {"state": {"enum": _ordered(STATES_WITH_TIME)}}},
        "then": {"required": ["completed_at"], "properties": {"completed_at": {"type": "string"}}},
    }
    return (without, played)


_PLAYED_HAS_RESULTS = {
    "if": {"properties": {"state": {"enum": _ordered(STATES_WITH_TIME)}}},
    "then": {"required": ["results"], "properties": {"results": {"type": "array", "minItems": 1}}},
}

_LOBBY_MEMBERS = {
    "key": Member(KEY, nullable=True),
    "stage": Member(Text(MAX_STAGE, name=True), nullable=True),
    "state": Member(STATE, default=MatchState.COMPLETED.value),
    "completed_at": Member(Timestamp(description="ISO 8601 with a zone"), nullable=True),
    "results": Member(
        ListOf(RESULT, description="Each participant at most once; placements differ"),
        nullable=True,
    ),
}
# One battle-royale lobby as the API takes it (no key: one is made up; no time: now).
LOBBY = Obj(
    _LOBBY_MEMBERS,
    description="One lobby. Each participant must be one of the tournament's, listed once, and placements must differ.",
    conditions=(*_time_conditions(time_required=False), _PLAYED_HAS_RESULTS),
)
# The same in a file: the key and (once played) the time are required.
FILE_LOBBY = Obj(
    _LOBBY_MEMBERS,
    description=LOBBY.description,
    conditions=(*_time_conditions(time_required=True), _PLAYED_HAS_RESULTS),
)

ADJUSTMENT = Obj(
    {
        "participant": Member(PARTICIPANT_REF, required=True),
        "points": Member(
            Integer(-MAX_ADJUSTMENT, MAX_ADJUSTMENT, nonzero="an adjustment changes the total"), required=True
        ),
        "reason": Member(Text(MAX_REASON), required=True),
    },
    description="A penalty (negative) or bonus (positive) counted in total points",
)

# One side's score in a series game.
SCORE = Integer(0, MAX_SCORE)

GAME = Obj(
    {
        "key": Member(KEY, required=True),
        "state": Member(STATE, default=MatchState.COMPLETED.value),
        "completed_at": Member(Timestamp(description="ISO 8601 with a zone"), nullable=True),
        "winner": Member(Raw({"type": "string"}, description="One of the series' two participants"), nullable=True),
        "score": Member(
            Raw(
                {
                    "type": "object",
                    "minProperties": 2,
                    "maxProperties": 2,
                    "additionalProperties": SCORE.schema(),
                },
                description="Both participants' scores; the winner's is higher, a draw's equal",
            ),
            nullable=True,
        ),
    },
    description="No game may follow the one that decided the series",
    conditions=(
        *_time_conditions(time_required=True),
        {
            "if": {"required": ["state"], "properties": {"state": {"not": {"const": MatchState.COMPLETED.value}}}},
            "then": {"properties": {"winner": {"type": "null"}}},
        },
        {
            # A completed game without a winner is a draw, which needs the (equal) score.
            "if": {"properties": {"state": {"const": MatchState.COMPLETED.value}, "winner": {"type": "null"}}},
            "then": {"required": ["score"], "properties": {"score": {"type": "object"}}},
        },
    ),
)

SERIES = Obj(
    {
        "key": Member(Text(MAX_KEY), required=True),
        "name": Member(Text(MAX_NAME, name=True), nullable=True),
        "best_of": Member(Choice(BEST_OF_CHOICES), required=True),
        "participants": Member(
            ListOf(PARTICIPANT_REF, min_items=2, max_items=2, unique=True, description="The two sides"),
            required=True,
        ),
        "forfeit_winner": Member(Raw({"type": "string"}, description="One of the two sides"), nullable=True),
        "games": Member(ListOf(GAME, description="At most best_of games"), nullable=True),
    },
    conditions=tuple(
        {
            "if": {"required": ["best_of"], "properties": {"best_of": {"const": n}}},
            "then": {"properties": {"games": {"maxItems": n}}},
        }
        for n in BEST_OF_CHOICES
    ),
)


def _empty_unless(game_enum: tuple[str, ...], key: str) -> dict[str, Any]:
    """`key` may hold entries only in a tournament of one of these games."""
    others = [g for g in GAMES if g not in game_enum]
    return {
        "if": {"properties": {"tournament": {"properties": {"game": {"enum": others}}}}},
        "then": {"properties": {key: {"type": ["array", "null"], "maxItems": 0}}},
    }


def _not_open() -> dict[str, Any]:
    return {"not": {"properties": {"state": {"enum": _ordered(OPEN_STATES)}}, "required": ["state"]}}


DOCUMENT = Obj(
    {
        "format": Member(Raw({"const": FORMAT}), required=True),
        "tournament": Member(TOURNAMENT, required=True),
        "participants": Member(ListOf(PARTICIPANT), nullable=True),
        "matches": Member(ListOf(Requiring(FILE_LOBBY, ("key",)), description="Battle royale only"), nullable=True),
        "adjustments": Member(ListOf(ADJUSTMENT, description="Battle royale only"), nullable=True),
        "series": Member(ListOf(SERIES, description="Series games only"), nullable=True),
    },
    conditions=(
        _empty_unless(BR_GAMES, "matches"),
        _empty_unless(BR_GAMES, "adjustments"),
        _empty_unless(SERIES_GAMES, "series"),
        {
            # A completed tournament's standings are frozen: nothing may still be live or disputed.
            "if": {
                "required": ["tournament"],
                "properties": {
                    "tournament": {"required": ["status"], "properties": {"status": {"const": "completed"}}}
                },
            },
            "then": {
                "properties": {
                    "matches": {"type": ["array", "null"], "items": _not_open()},
                    "series": {
                        "type": ["array", "null"],
                        "items": {"properties": {"games": {"type": ["array", "null"], "items": _not_open()}}},
                    },
                }
            },
        },
    ),
)

SCHEMA_ID = "https://github.com/deltacrown/leaderboards/blob/main/docs/tournament-file.schema.json"


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of the tournament file (docs/tournament-file.schema.json)."""
    body = DOCUMENT.schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "DeltaCrown tournament file (deltacrown.tournament/v1)",
        "description": "Generated from app/services/tournaments/file/rules.py; see docs/tournament-file.md. "
        "Beyond what JSON Schema states, the importer refuses: a participant reference to an undeclared id, "
        "duplicate participant ids or names (ignoring case), a participant listed twice in a lobby, two "
        "equal placements in a lobby, duplicate match, game or series keys, a series against itself, a "
        "game after the one that decided its series, a winner without the higher score (or a draw "
        "without equal scores), a date that does not exist, numbers written with a fraction (2.0), and a "
        f"slug already in use. {FORMAT_DESCRIPTION}.",
        **body,
    }


def lobby_schema() -> dict[str, Any]:
    """One lobby as the API's POST /matches/ takes it."""
    return LOBBY.schema()


def json_schema_text() -> str:
    """docs/tournament-file.schema.json as written (a test checks the file equals this)."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
