"""`flask demo`: load the demo tournaments and a staff account (once; safe to run again)."""

from __future__ import annotations

import secrets

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from app.cli.groups import cli_errors
from app.extensions import db
from app.models import User
from app.notifications import recipients
from app.services.support.demo import ensure_demo_players, ensure_demo_registrations, load_demo, one_transaction

DEMO_STAFF_EMAIL = "staff@deltacrown.local"


@click.command("demo")
@click.option("--new-passwords", is_flag=True, help="Give existing demo staff and players fresh passwords (printed).")
@with_appcontext
@cli_errors
def demo_command(new_passwords: bool) -> None:
    """Load the demo data and print the demo logins.

    Running it again loads only what is missing and leaves existing demo accounts alone: their
    passwords (only hashes are stored, so they cannot be printed again) and their open sessions
    keep working. `--new-passwords` gives them fresh, printed passwords instead. All of it is
    one transaction: a demo that fails half-way leaves nothing behind, so the next run starts
    over instead of reporting "already loaded" over half a demo.
    """
    with one_transaction():
        loaded, staff_password, players, captains, player_password = _load(new_passwords)
    _report(loaded, staff_password, players, captains, player_password)


def _load(new_passwords: bool) -> tuple[list[str], str | None, list[str], list[str], str]:
    loaded = load_demo(progress=lambda name: click.echo(f"Loading {name} ...", err=True))
    password = secrets.token_urlsafe(12)
    staff = db.session.scalar(select(User).where(User.email == DEMO_STAFF_EMAIL))
    staff_password: str | None = None
    if staff is None:
        staff = User(email=DEMO_STAFF_EMAIL, display_name="Demo Staff", is_staff=True, is_admin=True)
        db.session.add(staff)
    if staff.id is None or staff.password_hash is None or new_passwords:
        staff.set_password(password)
        staff_password = password
    player_password = secrets.token_urlsafe(12)
    players = ensure_demo_players(
        player_password, notify_live_match=recipients.add_live_match_notice, reset=new_passwords
    )
    db.session.commit()
    captains = ensure_demo_registrations(staff.id, player_password, reset=new_passwords)
    return loaded, staff_password, players, captains, player_password


def _report(
    loaded: list[str], staff_password: str | None, players: list[str], captains: list[str], player_password: str
) -> None:
    if loaded:
        click.echo(f"Demo loaded: {', '.join(loaded)}.")
    else:
        click.echo("Demo already loaded; nothing imported.")
    # The address the site is served on (`make run` sets it from HOST and PORT).
    base_url = str(current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    if staff_password:
        click.echo(f"Staff login: {DEMO_STAFF_EMAIL} / {staff_password}  ({base_url}/login)")
    else:
        click.echo(
            f"Staff login: {DEMO_STAFF_EMAIL} with the password printed before (unchanged; "
            f"`flask --app wsgi demo --new-passwords` prints fresh ones)  ({base_url}/login)"
        )
    for email in players:
        click.echo(f"Player login: {email} / {player_password}")
    for email in captains:
        click.echo(f"Captain login: {email} / {player_password}  (ff-monsoon-open registration)")
    click.echo(delivery_summary(current_app.config))


def delivery_summary(config) -> str:
    """What the delivery worker will send with these settings: the `make run` banner's truth."""
    if config.get("NOTIFICATIONS_WEBHOOK_ENABLED"):
        webhooks = "webhooks on (to the endpoints at /staff/webhooks/"
        webhooks += " and WEBHOOK_DELIVERY_URL)" if config.get("WEBHOOK_DELIVERY_URL") else ")"
    else:
        webhooks = "webhooks off (NOTIFICATIONS_WEBHOOK_ENABLED=true in .env turns them on)"
    email = "email on" if config.get("NOTIFICATIONS_EMAIL_ENABLED") else "email off (NOTIFICATIONS_EMAIL_ENABLED)"
    return f"Notifications: in-app inbox on; {webhooks}; {email}."
