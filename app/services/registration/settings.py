"""Registration settings: what a tournament's entry form asks for, read from the contract §7
JSON (API, portal form, demo) and written back in that shape, and the windows they set.

The rule: capacity 1..10,000 teams; a roster of roster_min..roster_max players (1..100); a fee
of at most 9,999,999.99 in a three-letter currency (0: free), which needs at least one payment
method (bKash, Nagad, Rocket or any name of letters, digits, spaces, '.', '_', '-') with its
instructions; a payment deadline of 1 hour to 30 days; times in ISO 8601 with a zone (read as
UTC), `closes_at` after `opens_at`; check-in (1 minute to 24 hours before `starts_at`) needs
`starts_at`; the captain's phone number asked for and optional, or required
(`captain_phone_required`). Registration is open between `opens_at` and `closes_at` (either may be unset) while
the tournament is taking registrations and play has not started.

Saving settings (which may offer new slots to the waiting list) takes the registration lock:
`settings_save.save_settings`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from app.errors import ValidationError
from app.extensions import db
from app.models import RegistrationSettings, Tournament, TournamentStatus, is_db_id
from app.money import METHOD_NAMES
from app.services.inputs.text import storable
from app.timestamps import iso_z

MAX_CAPACITY = 10_000
MAX_ROSTER = 100
MAX_METHODS = 10
MAX_METHOD_NAME = 40
MAX_INSTRUCTIONS = 1000
MAX_DEADLINE_HOURS = 24 * 30
MAX_CHECK_IN_MINUTES = 24 * 60
MAX_FEE_CENTS = 999_999_999  # 9,999,999.99: what seven digits allow
# The mobile-money services organisers in our audience take, in the order they are offered.
# How the usual methods are spelt lives with the money format (app/money.py), which emails use too.
METHOD_LABELS = METHOD_NAMES
KNOWN_METHODS = tuple(METHOD_LABELS)
CURRENCY_LENGTH = 3
MAX_TIME_TEXT = 40  # an ISO 8601 time as typed (2025-11-13T14:00:00+06:00 and some room)

# Forms as portable regexes (ASCII digits, no `\\d`): app/services/inputs/api_bodies.py states them in
# the API's schema too.
METHOD_PATTERN = f"[A-Za-z0-9][A-Za-z0-9 ._-]{{0,{MAX_METHOD_NAME - 1}}}"
AMOUNT_PATTERN = r"[0-9]{1,7}(?:\.[0-9]{1,2})?"
_METHOD_RE = re.compile(METHOD_PATTERN)
_AMOUNT_RE = re.compile(AMOUNT_PATTERN)
_CURRENCY_RE = re.compile(f"[A-Z]{{{CURRENCY_LENGTH}}}")


def settings_for(tournament_id: int) -> RegistrationSettings | None:
    """The tournament's registration settings, or None when it takes no registrations."""
    if not is_db_id(tournament_id):
        return None
    return db.session.scalar(select(RegistrationSettings).where(RegistrationSettings.tournament_id == tournament_id))


def parse_time(value: Any, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{name}: an ISO 8601 UTC time such as 2026-12-01T12:00:00Z, or null")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{name}: {value!r} is not an ISO 8601 time such as 2026-12-01T12:00:00Z") from None
    if parsed.tzinfo is None:
        raise ValidationError(f"{name}: give the time in UTC with Z, e.g. 2026-12-01T12:00:00Z")
    return parsed


def _parse_int(value: Any, name: str, low: int, high: int, *, nullable: bool = False) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        extra = " or null" if nullable else ""
        raise ValidationError(f"{name}: a whole number from {low} to {high}{extra}")
    return value


def parse_amount(value: Any, name: str = "amount") -> int:
    """A decimal amount ("500.00", "500", 500) as cents; at most two decimals."""
    if isinstance(value, bool) or value is None:
        raise ValidationError(f'{name}: a decimal amount such as "500.00"')
    text = str(value).strip() if isinstance(value, int | str) else None
    if isinstance(value, float):
        text = repr(value)
    if text is None or not _AMOUNT_RE.fullmatch(text):
        raise ValidationError(f'{name}: a decimal amount such as "500.00" (at most two decimals, not negative)')
    try:
        cents = int(Decimal(text) * 100)
    except InvalidOperation:
        raise ValidationError(f'{name}: a decimal amount such as "500.00"') from None
    if cents > MAX_FEE_CENTS:
        raise ValidationError(f"{name}: at most {MAX_FEE_CENTS // 100}")
    return cents


def _parse_methods(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_METHODS:
        raise ValidationError(f'methods: a list of at most {MAX_METHODS} objects {{"name", "instructions"}}')
    methods: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, raw in enumerate(value):
        where = f"methods[{i}]"
        if not isinstance(raw, dict) or set(raw) - {"name", "instructions"}:
            raise ValidationError(f'{where}: an object with "name" and "instructions"')
        name = raw.get("name")
        if not isinstance(name, str) or not _METHOD_RE.fullmatch(name.strip()):
            raise ValidationError(
                f"{where}.name: 1 to {MAX_METHOD_NAME} letters, digits, spaces, '.', '_' or '-' "
                f"(e.g. {', '.join(KNOWN_METHODS)})"
            )
        name = name.strip()
        if name.lower() in KNOWN_METHODS:
            name = name.lower()
        if name.casefold() in seen:
            raise ValidationError(f"{where}.name: {name!r} is listed twice")
        seen.add(name.casefold())
        instructions = raw.get("instructions", "")
        if instructions is None:
            instructions = ""
        if not isinstance(instructions, str) or len(instructions) > MAX_INSTRUCTIONS or not storable(instructions):
            raise ValidationError(f"{where}.instructions: text of at most {MAX_INSTRUCTIONS} characters")
        methods.append({"name": name, "instructions": instructions.strip()})
    return methods


SETTINGS_FIELDS = (
    "opens_at",
    "closes_at",
    "starts_at",
    "capacity",
    "roster_min",
    "roster_max",
    "fee",
    "methods",
    "payment_deadline_hours",
    "auto_confirm_free",
    "check_in_minutes",
    "captain_phone_required",
)


def parse_settings(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ValidationError("body: expected a JSON object")
    unknown = sorted(set(payload) - set(SETTINGS_FIELDS))
    if unknown:
        raise ValidationError(f"{unknown[0]}: unknown field (fields: {', '.join(SETTINGS_FIELDS)})")
    if "capacity" not in payload:
        raise ValidationError("capacity: required, the number of teams")
    values: dict[str, Any] = {
        "opens_at": parse_time(payload.get("opens_at"), "opens_at"),
        "closes_at": parse_time(payload.get("closes_at"), "closes_at"),
        "starts_at": parse_time(payload.get("starts_at"), "starts_at"),
        "capacity": _parse_int(payload.get("capacity"), "capacity", 1, MAX_CAPACITY),
        "roster_min": _parse_int(payload.get("roster_min", 1), "roster_min", 1, MAX_ROSTER),
        "roster_max": _parse_int(payload.get("roster_max", payload.get("roster_min", 1)), "roster_max", 1, MAX_ROSTER),
        "payment_deadline_hours": _parse_int(
            payload.get("payment_deadline_hours", 48), "payment_deadline_hours", 1, MAX_DEADLINE_HOURS
        ),
        "check_in_minutes": _parse_int(
            payload.get("check_in_minutes"), "check_in_minutes", 1, MAX_CHECK_IN_MINUTES, nullable=True
        ),
        "methods": _parse_methods(payload.get("methods")),
    }
    auto = payload.get("auto_confirm_free", True)
    if not isinstance(auto, bool):
        raise ValidationError("auto_confirm_free: true or false")
    values["auto_confirm_free"] = auto
    phone = payload.get("captain_phone_required", False)
    if not isinstance(phone, bool):
        raise ValidationError("captain_phone_required: true or false")
    values["captain_phone_required"] = phone
    fee = payload.get("fee")
    if fee is None:
        fee = {"amount": "0"}
    if isinstance(fee, int | str) and not isinstance(fee, bool):
        fee = {"amount": fee}
    if not isinstance(fee, dict) or set(fee) - {"amount", "currency"}:
        raise ValidationError('fee: an object {"amount": "500.00", "currency": "BDT"}')
    values["fee_cents"] = parse_amount(fee.get("amount", "0"), "fee.amount")
    currency = fee.get("currency") or "BDT"
    if not isinstance(currency, str) or not _CURRENCY_RE.fullmatch(currency.strip().upper()):
        raise ValidationError("fee.currency: a three-letter currency code such as BDT")
    values["currency"] = currency.strip().upper()
    if values["roster_max"] < values["roster_min"]:
        raise ValidationError("roster_max: must be at least roster_min")
    if values["opens_at"] and values["closes_at"] and values["opens_at"] >= values["closes_at"]:
        raise ValidationError("closes_at: must be after opens_at")
    if values["check_in_minutes"] is not None and values["starts_at"] is None:
        raise ValidationError("starts_at: required when check_in_minutes is set (check-in ends at the start)")
    if values["fee_cents"] > 0 and not values["methods"]:
        raise ValidationError("methods: a paid entry needs at least one payment method with instructions")
    return values


def settings_to_json(settings: RegistrationSettings) -> dict[str, Any]:
    """The contract §7 settings object (plus `starts_at`)."""
    return {
        "opens_at": iso_z(settings.opens_at),
        "closes_at": iso_z(settings.closes_at),
        "starts_at": iso_z(settings.starts_at),
        "capacity": settings.capacity,
        "roster_min": settings.roster_min,
        "roster_max": settings.roster_max,
        "fee": {"amount": f"{Decimal(settings.fee_cents) / 100:.2f}", "currency": settings.currency},
        "methods": [dict(m) for m in settings.methods or []],
        "payment_deadline_hours": settings.payment_deadline_hours,
        "auto_confirm_free": settings.auto_confirm_free,
        "check_in_minutes": settings.check_in_minutes,
        "captain_phone_required": bool(settings.captain_phone_required),
    }


def window_state(settings: RegistrationSettings, tournament: Tournament, now: datetime) -> str:
    if tournament.status != TournamentStatus.REGISTRATION.value:
        return "closed"
    if settings.opens_at is not None and now < settings.opens_at:
        return "upcoming"
    if settings.closes_at is not None and now >= settings.closes_at:
        return "closed"
    if settings.starts_at is not None and now >= settings.starts_at:
        return "closed"
    return "open"


def check_in_window(settings: RegistrationSettings) -> tuple[datetime | None, datetime | None]:
    if settings.check_in_minutes is None or settings.starts_at is None:
        return None, None
    return settings.starts_at - timedelta(minutes=settings.check_in_minutes), settings.starts_at
