"""`flask users ...` (contract §3). Passwords are read from stdin only: a password given as an
argument would sit in the shell history and in every `ps` listing.

The rules (email form, password length, roles, audit events) live in `app.services.accounts.users`,
shared with the staff portal; changes made here are audited with no actor (the CLI runs as
whoever has shell access to the server)."""

from __future__ import annotations

import sys

import click

from app.cli.groups import cli_errors, users_cli
from app.errors import Conflict, NotFound, ValidationError
from app.services.accounts import users as users_service
from app.services.accounts.rules import MAX_DISPLAY_NAME, check_password, normalise_email


def _read_password() -> str:
    if sys.stdin.isatty():
        # Someone typing at a terminal: prompt without echo instead of waiting silently for EOF.
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.read().rstrip("\r\n")
    if "\n" in password or "\r" in password:
        raise ValidationError("the password on stdin must be a single line")
    return check_password(password)


def _require_password_stdin(password_stdin: bool) -> None:
    if not password_stdin:
        raise ValidationError(
            "--password-stdin is required: passwords are never taken on the command line, pipe the password in on stdin"
        )


@users_cli.command("create")
@click.argument("email")
@click.option("--staff", is_flag=True, help="May use the staff portal and the staff API.")
@click.option("--admin", is_flag=True, help="Administrator (implies staff rights).")
@click.option("--name", default=None, help="Display name (default: the part of the email before @).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (required).")
@cli_errors
def create_user_command(email: str, staff: bool, admin: bool, name: str | None, password_stdin: bool) -> None:
    """Create a user. The password comes from stdin, e.g. `printf %s "$PW" | flask users create ...`."""
    _require_password_stdin(password_stdin)
    email = normalise_email(email)
    if name is not None and len(name.strip()) > MAX_DISPLAY_NAME:
        raise ValidationError(f"--name must be at most {MAX_DISPLAY_NAME} characters long")
    # Refuse a taken email before asking for a password nobody will use.
    try:
        users_service.find_user(email)
    except NotFound:
        pass
    else:
        raise Conflict(f"a user with email {email} already exists")
    password = _read_password()
    role = "admin" if admin else "staff" if staff else "player"
    user = users_service.create_user(email, password, role=role, display_name=name, actor_id=None)
    click.echo(f"created user {user.email} (id {user.id}, {_roles(user)})")


def _roles(user) -> str:
    roles = [role for role, has in (("admin", user.is_admin), ("staff", user.is_staff)) if has]
    return ",".join(roles) or "player"


@users_cli.command("token")
@click.argument("email")
@cli_errors
def token_command(email: str) -> None:
    """Print a new API token for the user. It is shown only this once; keep it safe."""
    user = users_service.find_user(email)
    # Only the token on stdout, so `TOKEN=$(flask users token ...)` captures exactly it.
    click.echo(users_service.issue_token(user.id, actor_id=None))


@users_cli.command("revoke-tokens")
@click.argument("email")
@cli_errors
def revoke_tokens_command(email: str) -> None:
    """Revoke every API token of the user."""
    user = users_service.find_user(email)
    count = users_service.revoke_all_tokens(user.id, actor_id=None)
    click.echo(f"revoked {count} token(s) of {user.email}")


@users_cli.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin (required).")
@cli_errors
def set_password_command(email: str, password_stdin: bool) -> None:
    """Set a new password (e.g. for someone locked out); ends the user's open sessions."""
    _require_password_stdin(password_stdin)
    user = users_service.find_user(email)
    users_service.change_password(user.id, _read_password(), actor_id=None)
    click.echo(f"password of {user.email} changed; their open sessions have ended and the account is unlocked")


@users_cli.command("unlock")
@click.argument("email")
@cli_errors
def unlock_command(email: str) -> None:
    """Lift the failed log-in limit of the account (someone guessed at its password)."""
    user = users_service.unlock(users_service.find_user(email).id, actor_id=None)
    click.echo(f"{user.email} unlocked: its failed log-in attempts are forgotten")


@users_cli.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(users_service.ROLES))
@cli_errors
def set_role_command(email: str, role: str) -> None:
    """Make the user a player, staff or admin."""
    user = users_service.change_role(users_service.find_user(email).id, role, actor_id=None)
    click.echo(f"{user.email} is now {users_service.role_of(user)}")


@users_cli.command("deactivate")
@click.argument("email")
@cli_errors
def deactivate_command(email: str) -> None:
    """Deactivate the user: their sessions end and their tokens stop working."""
    user = users_service.set_active(users_service.find_user(email).id, False, actor_id=None)
    click.echo(f"{user.email} deactivated")


@users_cli.command("activate")
@click.argument("email")
@cli_errors
def activate_command(email: str) -> None:
    """Re-enable a deactivated user (they log in again; old sessions stay ended)."""
    user = users_service.set_active(users_service.find_user(email).id, True, actor_id=None)
    click.echo(f"{user.email} activated")


@users_cli.command("list")
@cli_errors
def list_users_command() -> None:
    """List users with their roles."""
    users = users_service.list_users()
    if not users:
        click.echo("no users", err=True)
        return
    for user in users:
        state = "" if user.is_active else " (deactivated)"
        click.echo(f"{user.email}\t{_roles(user)}{state}")
