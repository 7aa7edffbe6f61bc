"""Forms of the staff portal. They check only shape (lengths, required); the rules live in
the services, whose messages ("field: what is wrong") `attach_error` puts next to the field.
Numbers are read as text and parsed here, so "abc" or a 40-digit number gets a message instead
of WTForms' silent None."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.errors import DomainError, ValidationError
from app.models import GAME_NAMES, MatchState
from app.scoring import PRESET_NAMES, TIEBREAKER_KEYS
from app.services import announcements
from app.services.inputs.numbers import MAX_NUMBER_TEXT, parse_whole, too_long
from app.services.inputs.text import storable
from app.services.results.lobbies import MAX_PASTE_CHARS as MAX_LOBBY_PASTE
from app.services.standings.overrides import MAX_REASON_LENGTH as MAX_OVERRIDE_REASON
from app.services.standings.overrides import MIN_REASON_LENGTH as MIN_OVERRIDE_REASON
from app.services.tournaments import info
from app.services.tournaments.file import BEST_OF_CHOICES, MAX_KEY, MAX_NAME, MAX_REASON, MAX_SLUG, MAX_STAGE, MAX_TAG
from app.services.tournaments.setup import MAX_PASTE_CHARS, MAX_STAGES_TEXT, MAX_TABLE_TEXT, MAX_TIEBREAKERS_TEXT


def attach_error(form: FlaskForm, exc: DomainError) -> None:
    """Put a service's message next to the field it names, or above the form."""
    field_name, sep, text = exc.message.partition(": ")
    field_name = field_name.split("[", 1)[0].split(".", 1)[0]
    field = form._fields.get(field_name) if sep else None
    if field is not None and field_name != "csrf_token":
        field.errors = [*field.errors, text]
    else:
        form.form_errors.append(exc.message)


def whole_number(field: Any, *, required: bool = False) -> int | None:
    """The field's text as an integer; a message naming the field otherwise."""
    text = (field.data or "").strip()
    if not text:
        if required:
            raise ValidationError(f"{field.name}: required")
        return None
    if too_long(text):
        raise ValidationError(f"{field.name}: that number is far too large")
    value = parse_whole(text, signed=True)
    if value is None:
        raise ValidationError(f"{field.name}: a whole number, such as 12")
    return value


def number_list(field: Any) -> list[int] | None:
    text = (field.data or "").strip()
    if not text:
        return None
    values = []
    for i, part in enumerate(p.strip() for p in text.replace(";", ",").split(",")):
        value = parse_whole(part, signed=True)
        if value is None:
            raise ValidationError(f"{field.name}[{i}]: {part[:12]!r} is not a whole number; separate points by commas")
        values.append(value)
    return values


def word_list(field: Any) -> list[str]:
    return [p.strip() for p in (field.data or "").replace(";", ",").split(",") if p.strip()]


class TournamentForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=MAX_NAME)])
    slug = StringField(
        "Address (slug)",
        validators=[DataRequired(), Length(max=MAX_SLUG)],
        description="Lowercase words and digits joined by dashes, e.g. spring-cup-2025; made from the name if empty",
    )
    game = SelectField("Game", choices=dict(GAME_NAMES))
    scoring_preset = SelectField(
        "Scoring",
        choices={"": "Game default", **{p: p for p in PRESET_NAMES}},
        default="",
        description="Battle royale only. Custom: give the table, kill points and tiebreakers below.",
    )
    placement_points = StringField(
        "Placement points (custom)", validators=[Length(max=MAX_TABLE_TEXT)], description="1st onward, e.g. 12, 9, 8, 7"
    )
    kill_points = StringField("Points per kill (custom)", validators=[Length(max=MAX_NUMBER_TEXT)])
    tiebreakers = StringField(
        "Tiebreakers (custom)",
        validators=[Length(max=MAX_TIEBREAKERS_TEXT)],
        description="In order, comma-separated, from: " + ", ".join(TIEBREAKER_KEYS),
    )
    stages = TextAreaField("Stages", validators=[Length(max=MAX_STAGES_TEXT)], description="One a line, e.g. Day 1")
    advancing = StringField(
        "Advancing",
        validators=[Length(max=MAX_NUMBER_TEXT)],
        description="The top N qualify (a line in the standings); optional",
    )
    description = TextAreaField(
        "Description",
        validators=[Length(max=info.MAX_DESCRIPTION)],
        description="Shown at the top of the public page: plain text, line breaks kept; optional",
    )
    rules = TextAreaField(
        "Rules", validators=[Length(max=info.MAX_RULES)], description="Plain text, line breaks kept; optional"
    )
    contact_whatsapp = StringField(
        "WhatsApp",
        validators=[Length(max=info.MAX_CONTACT)],
        description="A phone number (+8801712345678) or an https://chat.whatsapp.com/… link",
    )
    contact_discord = StringField(
        "Discord", validators=[Length(max=info.MAX_CONTACT)], description="An https://discord.gg/… invite link"
    )
    contact_facebook = StringField(
        "Facebook",
        validators=[Length(max=info.MAX_CONTACT)],
        description="An https://facebook.com/… page or group link",
    )


class ImportForm(FlaskForm):
    file = FileField("Tournament file (deltacrown.tournament/v1 JSON)")


class ParticipantForm(FlaskForm):
    name = StringField("Team name", validators=[DataRequired(), Length(max=MAX_NAME)])
    key = StringField("Id", validators=[Length(max=MAX_KEY)], description="Optional; made from the name if empty")
    tag = StringField("Tag", validators=[Length(max=MAX_TAG)])


class ParticipantsPasteForm(FlaskForm):
    participants = TextAreaField(
        "Paste participants (CSV)",
        validators=[DataRequired(), Length(max=MAX_PASTE_CHARS)],
        description="One a line: name[,id][,tag]",
    )


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token and what to do."""

    status = HiddenField()


class AdjustmentForm(FlaskForm):
    # Starts on "Choose a team" (the view adds it): a default team would get the points by mistake.
    participant = SelectField("Team", choices={}, validate_choice=False)
    points = StringField(
        "Points", validators=[DataRequired(), Length(max=MAX_NUMBER_TEXT)], description="-5 penalty, 3 bonus"
    )
    reason = StringField("Reason", validators=[DataRequired(), Length(max=MAX_REASON)])


class LobbyForm(FlaskForm):
    stage = StringField("Stage", validators=[Length(max=MAX_STAGE)])
    state = SelectField(
        "State",
        choices={
            MatchState.COMPLETED.value: "Completed (counts now)",
            MatchState.LIVE.value: "Live",
            MatchState.SCHEDULED.value: "Scheduled",
        },
        default=MatchState.COMPLETED.value,
        validate_choice=False,
    )
    version = HiddenField()
    # Corrections only: kept in the audit log and told to the teams whose line changed.
    reason = StringField(
        "Reason for the correction",
        validators=[Length(max=1000)],
        description="Why the saved result was wrong; the audit log keeps it and the teams whose result changed read it",
    )
    key = StringField(
        "Lobby key",
        validators=[Length(max=MAX_KEY)],
        description="Reserved for you while this grid is open; a lobby saved under it already is refused",
    )


class PasteForm(FlaskForm):
    paste = TextAreaField(
        "Paste a lobby (CSV or JSON)",
        validators=[DataRequired(), Length(max=MAX_LOBBY_PASTE)],
        description="CSV: team,placement,kills a line (team = id, name or tag). JSON: a lobby as the API takes it.",
    )


class MatchStateForm(FlaskForm):
    state = HiddenField(validators=[DataRequired()])
    reason = StringField("Reason", validators=[Optional(), Length(max=MAX_REASON)])
    # Resolving a dispute has its own note (how it was settled), not the dispute's reason box.
    note = StringField("Note", validators=[Optional(), Length(max=MAX_REASON)])


class SeriesForm(FlaskForm):
    key = StringField("Key", validators=[DataRequired(), Length(max=MAX_KEY)], description="e.g. sf1")
    name = StringField("Name", validators=[Length(max=MAX_NAME)], description="e.g. Semi-final 1")
    best_of = SelectField("Best of", choices={str(n): f"Bo{n}" for n in BEST_OF_CHOICES}, default="3")
    participant_a = SelectField("Team A", choices={}, validate_choice=False)
    participant_b = SelectField("Team B", choices={}, validate_choice=False)


class GameResultForm(FlaskForm):
    winner = SelectField("Winner", choices={}, validate_choice=False)
    score_a = StringField("Score A", validators=[Length(max=MAX_NUMBER_TEXT)])
    score_b = StringField("Score B", validators=[Length(max=MAX_NUMBER_TEXT)])
    # Empty: enter a new game that has been played; a game id: complete that scheduled/live game.
    game = HiddenField()


class ForfeitForm(FlaskForm):
    winner = SelectField("Winner by forfeit", choices={}, validate_choice=False)
    reason = StringField("Reason", validators=[DataRequired(), Length(max=MAX_REASON)])


class PaymentForm(FlaskForm):
    status = HiddenField(validators=[InputRequired()])
    note = StringField("Note", validators=[Length(max=MAX_REASON)])


class OverrideForm(FlaskForm):
    participant = HiddenField(validators=[InputRequired()])
    new_rank = StringField("New rank", validators=[DataRequired(), Length(max=MAX_NUMBER_TEXT)])
    reason = StringField(
        "Reason for the override",
        validators=[DataRequired(), Length(max=MAX_OVERRIDE_REASON)],
        description=f"At least {MIN_OVERRIDE_REASON} characters; shown publicly",
    )
    version = HiddenField()


class ClearOverrideForm(FlaskForm):
    participant = HiddenField(validators=[InputRequired()])
    reason = StringField(
        "Reason for clearing it",
        validators=[DataRequired(), Length(max=MAX_OVERRIDE_REASON)],
        description=f"At least {MIN_OVERRIDE_REASON} characters",
    )
    version = HiddenField()


def storable_form(form: FlaskForm) -> bool:
    """WTForms passes NUL and lone surrogates through; refuse them per field with a message."""
    ok = True
    for field in form:
        data = field.data
        if isinstance(data, str) and not storable(data):
            field.errors = [*(field.errors or []), "contains a NUL character or an unpaired surrogate"]
            ok = False
    return ok


class RenameForm(FlaskForm):
    name = StringField("Team name", validators=[DataRequired(), Length(max=MAX_NAME)])
    tag = StringField("Tag", validators=[Length(max=MAX_TAG)])


class AdjustmentEditForm(FlaskForm):
    points = StringField(
        "Points", validators=[DataRequired(), Length(max=MAX_NUMBER_TEXT)], description="-5 penalty, 3 bonus"
    )
    reason = StringField(
        "Reason", validators=[DataRequired(), Length(max=MAX_REASON)], description="Shown with the adjustment"
    )
    note = StringField(
        "Why it changed", validators=[Length(max=MAX_REASON)], description="Optional; kept in the audit log"
    )


class ReasonForm(FlaskForm):
    reason = StringField("Reason", validators=[Length(max=MAX_REASON)], description="Kept in the audit log")


class AnnouncementForm(FlaskForm):
    subject = StringField(
        "Subject",
        validators=[DataRequired(), Length(max=announcements.MAX_SUBJECT)],
        description="One line, at most 150 characters",
    )
    message = TextAreaField(
        "Message",
        validators=[DataRequired(), Length(max=announcements.MAX_BODY)],
        description="Plain text, at most 5,000 characters; line breaks are kept",
    )
    # One-time: the same form sent twice sends one announcement (app/services/announcements.py).
    token = HiddenField()
