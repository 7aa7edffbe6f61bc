from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from app.services.accounts.players import MAX_CODE_TEXT
from app.services.accounts.rules import MAX_DISPLAY_NAME, MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


class SignupForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=MAX_EMAIL_LENGTH)])
    display_name = StringField("Display name (optional)", validators=[Length(max=MAX_DISPLAY_NAME)])
    password = PasswordField(
        f"Password (at least {MIN_PASSWORD_LENGTH} characters)",
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)],
    )
    confirm = PasswordField(
        "Password again", validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")]
    )


class JoinTeamForm(FlaskForm):
    code = StringField("Join code", validators=[DataRequired(), Length(max=MAX_CODE_TEXT)])


class CsrfOnlyForm(FlaskForm):
    """Forms whose fields are read by hand still get the CSRF check."""
