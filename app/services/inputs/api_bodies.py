"""The JSON API's request bodies (and its one structured query value, `match_ids`), declared
once.

Each declaration is both what the API checks a body against before it calls the service
(types, required keys, lengths, bounds, unknown keys: `read`) and what /api/openapi.json states
(`schema()`), so the two cannot drift; tests/services/inputs/test_schema_corpus.py proves the server and the
schema agree on a corpus of good and bad bodies. The limits come from the services that own
them (and the tournament file's rules, where the API edits the same thing a file holds).

What a declaration cannot state (a participant that exists, a rank past the last, a reason a
decision needs, a state change the current state allows) stays in the service, which answers
400, 404 or 409 after this check; the declaration says it in its description or as an
`if`/`then` condition.

Bodies whose keys a newer client may extend are lenient (unknown keys are ignored, provided they
are storable JSON); the registration bodies refuse unknown keys (a misspelt `tag` would be lost).
"""

from __future__ import annotations

from typing import Any

from app.errors import ValidationError
from app.models import MAX_ID
from app.services.inputs.fieldspec import (
    WHITESPACE,
    Boolean,
    Choice,
    Integer,
    ListOf,
    MapOf,
    Member,
    Obj,
    Raw,
    Shape,
    Text,
    Timestamp,
    read,
)
from app.services.inputs.numbers import parse_whole
from app.services.inputs.phone import MAX_TYPED as MAX_PHONE_TYPED
from app.services.registration import decisions, entries
from app.services.registration import settings as registration_settings
from app.services.standings.overrides import MAX_REASON_LENGTH, MIN_REASON_LENGTH
from app.services.tournaments.corrections import MIN_VOID_REASON
from app.services.tournaments.file import rules

__all__ = [
    "ADJUSTMENT_DELETE",
    "ADJUSTMENT_EDIT",
    "ADJUSTMENT_NEW",
    "CORRECTION",
    "DECISION",
    "MATCH_STATE",
    "OVERRIDE",
    "OVERRIDE_CLEAR",
    "PAYMENT",
    "REGISTER",
    "RESTORE",
    "SETTINGS",
    "VOID",
]

# A database id: 1 to 2**31 - 1 (the columns are 32-bit).
MAX_DB_ID = MAX_ID
# `?match_ids=`: at most this many ids, each at most this many digits (leading zeros included).
MAX_MATCH_IDS = 1000
MAX_ID_DIGITS = 18
_PADDING = f"[{WHITESPACE}]*"  # what the services trim (str.strip)


def _padded(regex: str) -> str:
    """A form the service accepts once it has trimmed the text."""
    return f"^{_PADDING}(?:{regex}){_PADDING}$"


PARTICIPANT_ID = Text(rules.MAX_KEY, description="A participant's id, e.g. team-3")
OVERRIDE_REASON = Text(
    MAX_REASON_LENGTH,
    min_stripped=MIN_REASON_LENGTH,
    description=f"At least {MIN_REASON_LENGTH} characters once trimmed; kept in the audit log",
)

# ------------------------------------------------------------------ final placements

OVERRIDE = Obj(
    {
        "participant_id": Member(PARTICIPANT_ID, required=True),
        "new_rank": Member(Integer(1, MAX_DB_ID, description="1..number of participants"), required=True),
        "reason": Member(OVERRIDE_REASON, required=True),
    },
    lenient=True,
)
OVERRIDE_CLEAR = Obj(
    {
        "participant_id": Member(PARTICIPANT_ID, required=True),
        "reason": Member(OVERRIDE_REASON, required=True),
    },
    lenient=True,
)

# ------------------------------------------------------------------ matches

_DISPUTE_REASON = Text(rules.MAX_REASON)
MATCH_STATE = Obj(
    {
        "state": Member(Choice(rules.STATES), required=True),
        "reason": Member(Text(rules.MAX_REASON, min_stripped=0), nullable=True),
        "winner": Member(
            Text(rules.MAX_KEY, description="Series games only, when completing: the winning participant id"),
            nullable=True,
        ),
        "score": Member(
            MapOf(rules.SCORE, description="Series games only, when completing: both participants' scores"),
            nullable=True,
        ),
    },
    description="A dispute needs a reason (what is contested, and by whom). A winner and score are given "
    "only when completing a series game.",
    conditions=(
        {
            "if": {"required": ["state"], "properties": {"state": {"const": "disputed"}}},
            "then": {"required": ["reason"], "properties": {"reason": _DISPUTE_REASON.schema()}},
        },
        {
            "if": {"required": ["state"], "properties": {"state": {"not": {"const": "completed"}}}},
            "then": {"properties": {"winner": {"type": "null"}, "score": {"type": "null"}}},
        },
    ),
    lenient=True,
)

_WHOLE = "must be a whole number"
CORRECTION_ROW = Obj(
    {
        "participant": Member(PARTICIPANT_ID, required=True),
        "placement": Member(Integer(1, rules.MAX_PLACEMENT, wrong_type=_WHOLE), required=True),
        "kills": Member(Integer(0, rules.MAX_KILLS, wrong_type=_WHOLE), default=0),
    }
)
CORRECTION = Obj(
    {
        "results": Member(
            ListOf(
                CORRECTION_ROW,
                min_items=1,
                each=True,
                description="The lobby's whole results, replacing the saved ones",
            ),
            required=True,
        ),
        "stage": Member(Text(rules.MAX_STAGE, min_stripped=0, description="Absent: kept; null: none"), nullable=True),
        "version": Member(
            Integer(
                0,
                MAX_DB_ID,
                wrong_type="must be the whole number read with the lobby",
                description="The lobby's version as last read; a lobby changed since is refused with 409. "
                "Absent: the current version (last write wins)",
            )
        ),
        "reason": Member(
            Text(
                rules.MAX_REASON,
                min_stripped=0,
                description="Why the saved result was wrong: kept in the audit log and told to the teams whose "
                "result changed",
            ),
            nullable=True,
        ),
    },
    lenient=True,
)
VOID = Obj(
    {
        "reason": Member(
            Text(
                rules.MAX_REASON,
                min_stripped=MIN_VOID_REASON,
                description=f"At least {MIN_VOID_REASON} characters once trimmed; kept in the audit log",
            ),
            required=True,
        )
    },
    lenient=True,
)
RESTORE = Obj(
    {"reason": Member(Text(rules.MAX_REASON, min_stripped=0), nullable=True)},
    description="An empty object is fine",
    lenient=True,
)

# ------------------------------------------------------------------ point adjustments

_ADJUSTMENT_REASON = rules.ADJUSTMENT.members["reason"].rule
ADJUSTMENT_NEW = Obj(
    {
        "participant_id": Member(PARTICIPANT_ID, required=True),
        "points": Member(rules.ADJUSTMENT.members["points"].rule, required=True),
        "reason": Member(_ADJUSTMENT_REASON, required=True),
    },
    lenient=True,
)
ADJUSTMENT_EDIT = Obj(
    {
        "points": Member(
            Integer(
                -rules.MAX_ADJUSTMENT,
                rules.MAX_ADJUSTMENT,
                nonzero="delete the adjustment instead",
                description="Negative: a penalty; positive: a bonus; never 0. Absent: kept",
            )
        ),
        "reason": Member(_ADJUSTMENT_REASON),
        "note": Member(Text(rules.MAX_REASON, min_stripped=0, description="Why it changed"), nullable=True),
    },
    lenient=True,
)
ADJUSTMENT_DELETE = Obj({"reason": Member(_ADJUSTMENT_REASON, required=True)}, lenient=True)

# ------------------------------------------------------------------ registration

REGISTER = Obj(
    {
        "team_name": Member(Text(entries.MAX_TEAM_NAME, padded=True), required=True),
        "tag": Member(Text(entries.MAX_TAG, padded=True, min_stripped=0), nullable=True),
        "captain_phone": Member(
            Text(
                MAX_PHONE_TYPED,
                padded=True,
                min_stripped=0,
                description="The captain's phone or WhatsApp number, e.g. +8801712345678; seen by staff only",
            ),
            nullable=True,
        ),
    }
)

_AMOUNT_SCHEMA = {
    "description": 'A decimal amount, e.g. "500.00"; 0 means free',
    "anyOf": [
        {"type": "string", "pattern": _padded(registration_settings.AMOUNT_PATTERN)},
        {"type": "number", "minimum": 0, "maximum": registration_settings.MAX_FEE_CENTS / 100, "multipleOf": 0.01},
    ],
}


def _amount(value: Any, path: str) -> Any:
    registration_settings.parse_amount(value, path)
    return value


AMOUNT = Raw(_AMOUNT_SCHEMA, parse=_amount)

PAYMENT = Obj(
    {
        "method": Member(
            Text(
                registration_settings.MAX_METHOD_NAME,
                shape=Shape(f"^{registration_settings.METHOD_PATTERN}$", "{value} is not a payment method's name"),
                description="One of the tournament's payment methods",
            ),
            required=True,
        ),
        "transaction_id": Member(
            Text(
                2 * entries.MAX_TRANSACTION_ID,
                shape=Shape(
                    _padded(entries.TRANSACTION_PATTERN),
                    "3 to 80 letters and digits as the app shows it; several IDs (a split payment) separated by commas",
                ),
            ),
            required=True,
        ),
        "amount": Member(AMOUNT, required=True),
        "sender_last_digits": Member(
            Text(20, min_stripped=0, shape=Shape(_padded("[0-9]{0,4}"), "up to the last 4 digits of the account")),
            nullable=True,
        ),
    }
)

DECISION = Obj(
    {
        "decision": Member(Choice(decisions.DECISIONS), required=True),
        "reason": Member(
            Text(decisions.MAX_REASON, min_stripped=0, description="Required (not blank) for reject and refund"),
            nullable=True,
        ),
        "reference": Member(
            Text(decisions.MAX_REFERENCE, min_stripped=0, description="A refund's transaction reference"), nullable=True
        ),
    },
    conditions=(
        {
            "if": {"required": ["decision"], "properties": {"decision": {"enum": sorted(decisions.REASON_REQUIRED)}}},
            "then": {"required": ["reason"], "properties": {"reason": Text(decisions.MAX_REASON).schema()}},
        },
    ),
)

_TIME = Timestamp()
FEE = Obj(
    {
        "amount": Member(AMOUNT, default="0"),
        "currency": Member(
            Text(3, shape=Shape("^[A-Za-z]{3}$", "a three-letter currency code such as BDT")), default="BDT"
        ),
    }
)


def _fee(value: Any, path: str) -> Any:
    """The fee object, or its amount alone (`"fee": "500"`), as the settings form sends it."""
    if isinstance(value, dict):
        return read(FEE, value, path)
    _amount(value, f"{path}.amount")
    return value


METHOD = Obj(
    {
        "name": Member(
            Text(
                registration_settings.MAX_METHOD_NAME,
                shape=Shape(
                    f"^{registration_settings.METHOD_PATTERN}$", "1 to 40 letters, digits, spaces, '.', '_' or '-'"
                ),
                description="Unique among the methods, e.g. bkash, nagad, rocket",
            ),
            required=True,
        ),
        "instructions": Member(Text(registration_settings.MAX_INSTRUCTIONS, min_stripped=0), nullable=True),
    }
)
SETTINGS = Obj(
    {
        "opens_at": Member(_TIME, nullable=True),
        "closes_at": Member(_TIME, nullable=True),
        "starts_at": Member(
            Timestamp(
                description="When play starts: check-in closes and withdrawing ends then (required with check-in)"
            ),
            nullable=True,
        ),
        "capacity": Member(Integer(1, registration_settings.MAX_CAPACITY), required=True),
        "roster_min": Member(Integer(1, registration_settings.MAX_ROSTER), default=1),
        "roster_max": Member(
            Integer(1, registration_settings.MAX_ROSTER, description="At least roster_min; absent: roster_min")
        ),
        "fee": Member(
            Raw({"anyOf": [FEE.schema(), _AMOUNT_SCHEMA]}, parse=_fee, description="Absent or null: free"),
            nullable=True,
        ),
        "methods": Member(
            ListOf(
                METHOD,
                max_items=registration_settings.MAX_METHODS,
                each=True,
                description="Required (at least one) when the fee is not 0",
            ),
            nullable=True,
        ),
        "payment_deadline_hours": Member(Integer(1, registration_settings.MAX_DEADLINE_HOURS), default=48),
        "auto_confirm_free": Member(Boolean(), default=True),
        "check_in_minutes": Member(Integer(1, registration_settings.MAX_CHECK_IN_MINUTES), nullable=True),
        "captain_phone_required": Member(
            Boolean(description="The registration asks the captain's phone/WhatsApp number; true: it must be given"),
            default=False,
        ),
    }
)


def check(declaration: Obj, body: dict[str, Any]) -> dict[str, Any]:
    """`body` read through its declaration; ValidationError (400) naming the first bad field."""
    if not isinstance(body, dict):
        raise ValidationError("body: expected a JSON object")
    return declaration.read(body)


def parse_match_ids(raw: str | None) -> list[int] | None:
    """`?match_ids=1,2,3` as ids (None: every match); what `MATCH_IDS_PATTERN` in the OpenAPI
    document states, built from the same limits."""
    if raw is None:
        return None
    parts = [p.strip() for p in raw.split(",")]
    if not raw.strip() or any(not p for p in parts):
        raise ValidationError("match_ids: give match ids separated by commas, e.g. 1,2,3")
    if len(parts) > MAX_MATCH_IDS:
        raise ValidationError(f"match_ids: at most {MAX_MATCH_IDS} ids")
    ids = []
    for part in parts:
        match_id = parse_whole(part, max_digits=MAX_ID_DIGITS)
        if match_id is None:
            raise ValidationError(f"match_ids: {part[:24]!r} is not a match id")
        ids.append(match_id)
    return ids
