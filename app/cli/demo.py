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
from app.services.demo import ensure_demo_players, ensure_demo_registrations, load_demo

DEMO_STAFF_EMAIL = "staff@deltacrown.local"


@click.command("demo")
@with_appcontext
@cli_errors
def demo_command() -> None:
    """Load the demo data and print the demo staff login.

    Running it again loads only what is missing, and gives the demo staff account a fresh
    password (printed), since the old one cannot be shown again: only its hash is stored.
    """
    loaded = load_demo(progress=lambda name: click.echo(f"Loading {name} ...", err=True))
    password = secrets.token_urlsafe(12)
    staff = db.session.scalar(select(User).where(User.email == DEMO_STAFF_EMAIL))
    if staff is None:
        staff = User(email=DEMO_STAFF_EMAIL, display_name="Demo Staff", is_staff=True, is_admin=True)
        db.session.add(staff)
    staff.set_password(password)
    player_password = secrets.token_urlsafe(12)
    players = ensure_demo_players(player_password, notify_live_match=recipients.add_live_match_notice)
    db.session.commit()
    captains = ensure_demo_registrations(staff.id, player_password)
    if loaded:
        click.echo(f"Demo loaded: {', '.join(loaded)}.")
    else:
        click.echo("Demo already loaded; nothing imported.")
    # The address the site is served on (`make run` sets it from HOST and PORT).
    base_url = str(current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    click.echo(f"Staff login: {DEMO_STAFF_EMAIL} / {password}  ({base_url}/login)")
    for email in players:
        click.echo(f"Player login: {email} / {player_password}")
    for email in captains:
        click.echo(f"Captain login: {email} / {player_password}  (ff-monsoon-open registration)")
