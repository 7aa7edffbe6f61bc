"""`tournaments standings|series|complete` (contract §3): thin wrappers over LeaderboardService."""

from __future__ import annotations

import json
from typing import Any

import click
from sqlalchemy import select

from app.cli.groups import cli_errors, tournaments_cli
from app.errors import ValidationError
from app.extensions import db
from app.models import Match
from app.services.standings.leaderboard import LeaderboardService
from app.services.tournaments.lookup import get_tournament_by_slug


def emit_json(document: Any) -> None:
    """One JSON document on stdout, in the layout of the contract's example files."""
    click.echo(json.dumps(document, indent=1, ensure_ascii=False))


def _match_ids_for_keys(tournament_id: int, keys_text: str) -> list[int]:
    keys = [k.strip() for k in keys_text.split(",") if k.strip()]
    if not keys:
        raise ValidationError("--matches: give match keys separated by commas, e.g. m1,m2")
    found = dict(
        db.session.execute(
            select(Match.key, Match.id).where(Match.tournament_id == tournament_id, Match.key.in_(keys))
        ).all()
    )
    unknown = [k for k in keys if k not in found]
    if unknown:
        raise ValidationError(f"--matches: no match {', '.join(unknown)} in this tournament")
    return [found[k] for k in keys]


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


@tournaments_cli.command("standings")
@click.argument("slug")
@click.option("--matches", "matches", metavar="KEY,KEY", help="Count only these matches (their keys).")
@click.option("--stage", metavar="NAME", help="Count only the matches of this stage.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as one JSON document.")
@cli_errors
def standings_command(slug: str, matches: str | None, stage: str | None, as_json: bool) -> None:
    """Battle-royale standings of SLUG."""
    tournament = get_tournament_by_slug(slug)
    match_ids = _match_ids_for_keys(tournament.id, matches) if matches is not None else None
    rows = LeaderboardService.calculate_br_standings(tournament.id, match_ids=match_ids, stage=stage)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo(f"{tournament.name}: no completed matches yet.")
        return
    click.echo(
        _table(
            ["#", "Team", "Pts", "Place", "Kill", "Adj", "Kills", "Wins", "MP", "Avg", "Decided by"],
            [
                [
                    r["rank"],
                    r["participant_name"],
                    r["total_points"],
                    r["placement_points"],
                    r["kill_points"],
                    r["adjustment_points"],
                    r["total_kills"],
                    r["wins"],
                    r["matches_played"],
                    f"{r['avg_placement']:.2f}",
                    r["decided_by"] or "",
                ]
                for r in rows
            ],
        )
    )


@tournaments_cli.command("series")
@click.argument("slug")
@click.argument("series_key")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON document.")
@cli_errors
def series_command(slug: str, series_key: str, as_json: bool) -> None:
    """Summary of one series of SLUG."""
    summary = LeaderboardService.series_summary_by_key(get_tournament_by_slug(slug).id, series_key)
    if as_json:
        emit_json(summary)
        return
    a, b = summary["series_score"]
    status = summary["status"].replace("_", " ")
    winner = f", winner {summary['series_winner_id']}" if summary["series_winner_id"] else ""
    click.echo(
        f"{series_key}: best of {summary['best_of']} ({summary['wins_needed']} to win) - "
        f"{a} {summary['series_score'][a]}-{summary['series_score'][b]} {b} - {status}{winner}"
    )
    if summary["games"]:
        click.echo(
            _table(
                ["Game", "Winner", "Score"],
                [
                    [
                        g["game_number"],
                        g["winner_id"] or "(draw)",
                        "-".join(str(v) for v in g["score"].values()) if g["score"] else "",
                    ]
                    for g in summary["games"]
                ],
            )
        )


@tournaments_cli.command("complete")
@click.argument("slug")
@cli_errors
def complete_command(slug: str) -> None:
    """Complete SLUG and freeze its standings into final results."""
    tournament = LeaderboardService.complete_tournament(get_tournament_by_slug(slug).id)
    results = LeaderboardService.results(tournament.id)
    click.echo(
        f"Completed {tournament.name} ({tournament.slug}); final results frozen for {len(results)} participants."
    )
