from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    # No format check on the email: a wrong one simply matches nobody, and telling people
    # "that is not an email" here would only add a second failure message to learn.
    email = EmailField("Email", validators=[DataRequired(), Length(max=255)])
    # Refused before hashing, so a megabyte "password" cannot make us burn CPU.
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()
