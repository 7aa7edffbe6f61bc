"""`flask players join-code SLUG [TEAM ...]` and `flask players remove SLUG EMAIL`: the organiser's side
of who is on which team."""

from __future__ import annotations

import click
from sqlalchemy import func, select

from app.cli.groups import cli_errors, players_cli
from app.errors import NotFound
from app.extensions import db
from app.models import Registration, Tournament, User
from app.services.accounts.players import issue_join_code, remove_registration
from app.services.inputs.text import printable


@players_cli.command("join-code")
@click.argument("slug")
@click.argument("teams", nargs=-1)
@cli_errors
def join_code_command(slug: str, teams: tuple[str, ...]) -> None:
    """Print a new join code for each TEAM (participant id in the tournament file), or for every
    team of the tournament when none is named. A team's earlier code stops working."""
    tournament = db.session.scalar(select(Tournament).where(Tournament.slug == slug))
    if tournament is None:
        raise NotFound(f"no tournament with slug {slug!r}")
    by_key = {p.key: p for p in tournament.participants}
    for key in teams:
        if key not in by_key:
            raise NotFound(f"tournament {slug!r} has no participant {key!r}")
    chosen = [by_key[k] for k in dict.fromkeys(teams)] if teams else list(tournament.participants)
    codes = [(p, issue_join_code(p)) for p in chosen]
    db.session.commit()
    for participant, code in codes:
        # Names from before the name rule may hold control characters: escaped, never sent raw.
        click.echo(f"{participant.key}\t{code}\t{printable(participant.name)}")


@players_cli.command("remove")
@click.argument("slug")
@click.argument("email")
@cli_errors
def remove_command(slug: str, email: str) -> None:
    """Take the player EMAIL off their team in tournament SLUG (refused while the registration has
    a payment on record)."""
    tournament = db.session.scalar(select(Tournament).where(Tournament.slug == slug))
    if tournament is None:
        raise NotFound(f"no tournament with slug {slug!r}")
    registration = db.session.scalar(
        select(Registration)
        .join(User, User.id == Registration.user_id)
        .where(Registration.tournament_id == tournament.id, func.lower(User.email) == email.strip().lower())
    )
    if registration is None:
        raise NotFound(f"{email.strip().lower()} is not on a team in {slug}")
    name = registration.participant.name
    remove_registration(registration, None, "removed by the organiser (flask players remove)")
    click.echo(f"Removed {printable(email.strip().lower())} from {printable(name)}.")
