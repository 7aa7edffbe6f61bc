"""`flask users ...` (contract §3). Passwords are read from stdin only: a password given as an
argument would sit in the shell history and in every `ps` listing."""

from __future__ import annotations

import re
import sys

import click
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.auth.tokens import create_token, revoke_user_tokens
from app.cli.groups import cli_errors, users_cli
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.models import User

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # the login form refuses longer ones, so such a user could never log in

# Deliberately plain: catches typos and pasted junk without rejecting real addresses that a
# strict RFC 5322 reading would quibble over.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
EMAIL_RE = re.compile(rf"[a-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+")


def normalise_email(raw: str) -> str:
    email = raw.strip().lower()
    if len(email) > 255 or not EMAIL_RE.fullmatch(email) or ".." in email:
        raise ValidationError(f"not a valid email address: {raw!r}")
    return email


def _find_user(email: str) -> User:
    user = db.session.scalars(select(User).where(func.lower(User.email) == email.strip().lower())).first()
    if user is None:
        raise NotFound(f"no user with email {email.strip().lower()}")
    return user


def _read_password() -> str:
    if sys.stdin.isatty():
        # Someone typing at a terminal: prompt without echo instead of waiting silently for EOF.
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.read().rstrip("\r\n")
    if "\n" in password or "\r" in password:
        raise ValidationError("the password on stdin must be a single line")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(f"the password must be at most {MAX_PASSWORD_LENGTH} characters long")
    return password


def _roles(user: User) -> str:
    roles = [role for role, has in (("admin", user.is_admin), ("staff", user.is_staff)) if has]
    return ",".join(roles) or "player"


@users_cli.command("create")
@click.argument("email")
@click.option("--staff", is_flag=True, help="May use the staff portal and the staff API.")
@click.option("--admin", is_flag=True, help="Administrator (implies staff rights).")
@click.option("--name", default=None, help="Display name (default: the part of the email before @).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (required).")
@cli_errors
def create_user_command(email: str, staff: bool, admin: bool, name: str | None, password_stdin: bool) -> None:
    """Create a user. The password comes from stdin, e.g. `printf %s "$PW" | flask users create ...`."""
    if not password_stdin:
        raise ValidationError(
            "--password-stdin is required: passwords are never taken on the command line, pipe the password in on stdin"
        )
    email = normalise_email(email)
    display_name = (name if name is not None else email.split("@", 1)[0]).strip()
    if len(display_name) > 120:
        raise ValidationError("--name must be at most 120 characters long")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise Conflict(f"a user with email {email} already exists")
    password = _read_password()

    user = User(email=email, display_name=display_name, is_staff=staff, is_admin=admin, active=True)
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        # Someone created the same email between our check and our insert.
        db.session.rollback()
        raise Conflict(f"a user with email {email} already exists") from None
    click.echo(f"created user {user.email} (id {user.id}, {_roles(user)})")


@users_cli.command("token")
@click.argument("email")
@cli_errors
def token_command(email: str) -> None:
    """Print a new API token for the user. It is shown only this once; keep it safe."""
    user = _find_user(email)
    if not user.is_active:
        raise Conflict(f"user {user.email} is deactivated; a token for it would not work")
    # Only the token on stdout, so `TOKEN=$(flask users token ...)` captures exactly it.
    click.echo(create_token(user.id))


@users_cli.command("revoke-tokens")
@click.argument("email")
@cli_errors
def revoke_tokens_command(email: str) -> None:
    """Revoke every API token of the user."""
    user = _find_user(email)
    count = revoke_user_tokens(user.id)
    click.echo(f"revoked {count} token(s) of {user.email}")


@users_cli.command("list")
@cli_errors
def list_users_command() -> None:
    """List users with their roles."""
    users = db.session.scalars(select(User).order_by(User.email)).all()
    if not users:
        click.echo("no users", err=True)
        return
    for user in users:
        state = "" if user.is_active else " (deactivated)"
        click.echo(f"{user.email}\t{_roles(user)}{state}")
