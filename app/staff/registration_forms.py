"""Forms of the registration pages: the settings form and the staff decisions on an entry.

The settings form only reads text; `settings_payload` turns it into the contract §7 JSON shape
that `settings_save.save_settings` (the rules and their messages) takes, so the portal and the API
go through one rule. Field names match the payload's keys, so a service message such as
"capacity: must be at least 1" lands next to the capacity field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.errors import ValidationError
from app.services.inputs.numbers import MAX_NUMBER_TEXT
from app.services.registration.decisions import MAX_REASON, MAX_REFERENCE
from app.services.registration.settings import CURRENCY_LENGTH, MAX_INSTRUCTIONS, MAX_TIME_TEXT, METHOD_LABELS
from app.staff.forms import whole_number

# The mobile-money services the settings know (app/services/registration/settings.py), in order.
METHODS = tuple(METHOD_LABELS.items())
LOCAL_TIME_FORMAT = "%Y-%m-%dT%H:%M"


class RegistrationSettingsForm(FlaskForm):
    opens_at = StringField(
        "Opens at (UTC)",
        validators=[Length(max=MAX_TIME_TEXT)],
        description="Empty: open whenever the tournament is in its Registration state",
    )
    closes_at = StringField(
        "Closes at (UTC)", validators=[Length(max=MAX_TIME_TEXT)], description="Empty: open until the start"
    )
    starts_at = StringField(
        "Play starts at (UTC)",
        validators=[Length(max=MAX_TIME_TEXT)],
        description="Teams may withdraw until then; the check-in window ends then",
    )
    capacity = StringField("Capacity (teams)", validators=[InputRequired(), Length(max=MAX_NUMBER_TEXT)])
    roster_min = StringField("Roster: at least", validators=[InputRequired(), Length(max=MAX_NUMBER_TEXT)], default="1")
    roster_max = StringField("Roster: at most", validators=[InputRequired(), Length(max=MAX_NUMBER_TEXT)], default="4")
    fee = StringField(
        "Entry fee", validators=[Length(max=MAX_NUMBER_TEXT)], default="0", description="e.g. 500 or 500.00; 0 = free"
    )
    currency = StringField("Currency", validators=[Length(max=CURRENCY_LENGTH)], default="BDT")
    payment_deadline_hours = StringField(
        "Payment deadline (hours after registering)", validators=[Length(max=MAX_NUMBER_TEXT)], default="48"
    )
    auto_confirm_free = BooleanField("Confirm free entries at once (otherwise staff approve each)", default=True)
    captain_phone_required = BooleanField(
        "Require the captain's phone or WhatsApp number (otherwise it is optional)", default=False
    )
    check_in_minutes = StringField(
        "Check-in window (minutes before the start)",
        validators=[Length(max=MAX_NUMBER_TEXT)],
        description="Empty: no check-in",
    )
    # Per method: accepted or not, and the organiser's instructions ("bKash merchant 01XXXXXXXXX,
    # reference = your registration code").
    bkash = BooleanField("Accept bKash")
    bkash_instructions = TextAreaField("bKash instructions", validators=[Length(max=MAX_INSTRUCTIONS)])
    nagad = BooleanField("Accept Nagad")
    nagad_instructions = TextAreaField("Nagad instructions", validators=[Length(max=MAX_INSTRUCTIONS)])
    rocket = BooleanField("Accept Rocket")
    rocket_instructions = TextAreaField("Rocket instructions", validators=[Length(max=MAX_INSTRUCTIONS)])
    methods = HiddenField()  # holds no data: service messages about `methods[...]` attach here


def _utc(field: Any) -> str | None:
    """A `datetime-local` value (read as UTC) as ISO 8601 with Z; also takes a full ISO time."""
    text = (field.data or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{field.name}: a date and time such as 2026-12-01T18:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def settings_payload(form: RegistrationSettingsForm) -> dict[str, Any]:
    """The contract §7 settings object from the form (plus `starts_at`), or a ValidationError
    naming the field."""
    methods = [
        {"name": name, "instructions": (getattr(form, f"{name}_instructions").data or "").strip()}
        for name, _label in METHODS
        if getattr(form, name).data
    ]
    return {
        "opens_at": _utc(form.opens_at),
        "closes_at": _utc(form.closes_at),
        "starts_at": _utc(form.starts_at),
        "capacity": whole_number(form.capacity, required=True),
        "roster_min": whole_number(form.roster_min, required=True),
        "roster_max": whole_number(form.roster_max, required=True),
        "fee": {"amount": (form.fee.data or "0").strip() or "0", "currency": (form.currency.data or "BDT").strip()},
        "methods": methods,
        "payment_deadline_hours": whole_number(form.payment_deadline_hours, required=True),
        "auto_confirm_free": bool(form.auto_confirm_free.data),
        "check_in_minutes": whole_number(form.check_in_minutes),
        "captain_phone_required": bool(form.captain_phone_required.data),
    }


def local_time(value: datetime | str | None) -> str:
    """A stored UTC time as the `datetime-local` input shows it."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime(LOCAL_TIME_FORMAT)


def fill_from_settings(form: RegistrationSettingsForm, data: dict[str, Any]) -> None:
    """Put stored settings (contract shape, from `registration_settings.settings_to_json`) into the form."""
    for name in ("opens_at", "closes_at", "starts_at"):
        getattr(form, name).data = local_time(data.get(name))
    for name in ("capacity", "roster_min", "roster_max", "payment_deadline_hours", "check_in_minutes"):
        value = data.get(name)
        getattr(form, name).data = "" if value is None else str(value)
    fee = data.get("fee") or {}
    form.fee.data = str(fee.get("amount", "0"))
    form.currency.data = fee.get("currency") or "BDT"
    form.auto_confirm_free.data = bool(data.get("auto_confirm_free"))
    form.captain_phone_required.data = bool(data.get("captain_phone_required"))
    for method in data.get("methods") or []:
        name = (method.get("name") or "").lower()
        if name in METHOD_LABELS:
            getattr(form, name).data = True
            getattr(form, f"{name}_instructions").data = method.get("instructions") or ""


class DecisionForm(FlaskForm):
    """One staff decision on one entry (verify, reject, waive, approve; refund has its own)."""

    decision = HiddenField(validators=[InputRequired()])
    reason = StringField("Reason", validators=[Optional(), Length(max=MAX_REASON)])


class RefundForm(FlaskForm):
    reference = StringField(
        "Refund reference",
        validators=[InputRequired(), Length(max=MAX_REFERENCE)],
        description="The transaction ID of the money you sent back",
    )
    reason = StringField(
        "Reason", validators=[InputRequired(), Length(max=MAX_REASON)], description="Shown to the team"
    )


class BulkForm(FlaskForm):
    """Verify several entries at once; the ticked boxes (name `entry`) are read by hand."""
