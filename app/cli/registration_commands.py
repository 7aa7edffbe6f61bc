"""`flask registrations tick` and `flask registrations list SLUG`: registration's timed steps
on demand (for cron, or when no worker runs) and a plain listing for the organiser's shell."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.cli.groups import cli_errors
from app.errors import NotFound
from app.extensions import db
from app.models import Tournament
from app.services.registration import records as entry_records
from app.services.registration import settings as registration_settings
from app.services.registration import timed_steps

registrations_cli = AppGroup("registrations", help="Team registrations: timed steps and listings.")


@registrations_cli.command("tick")
@click.option("--at", "at", default=None, help="Run as if it were this ISO 8601 UTC time (testing).")
@cli_errors
def tick_command(at: str | None) -> None:
    """Cancel unpaid entries past their deadline, confirm free teams whose roster filled, mark
    no-shows when check-in closes and offer freed slots to the waiting list."""
    now = registration_settings.parse_time(at, "--at") if at else None
    counts = timed_steps.run_timed_steps(now)
    click.echo(" ".join(f"{name}={value}" for name, value in counts.items()))


@registrations_cli.command("list")
@click.argument("slug")
@click.option("--status", default=None, help="An entry status, proof_submitted or refund_requested.")
@cli_errors
def list_command(slug: str, status: str | None) -> None:
    """One line per registration, in queue order: id, code, status, payment, waitlist, team."""
    tournament = db.session.scalar(select(Tournament).where(Tournament.slug == slug))
    if tournament is None:
        raise NotFound(f"no tournament with slug {slug!r}")
    positions = entry_records.waitlist_positions(tournament.id)
    for entry in entry_records.queue(tournament.id, status):
        row = entry_records.to_row(entry, positions)
        click.echo(
            f"{row['id']}\t{row['code']}\t{row['status']}\t{row['payment_status']}\t"
            f"{row['waitlist_position'] or '-'}\t{row['team_name']}"
        )
