"""`tournaments import` and `tournaments export` (contract §3).

stdout carries only the answer (one JSON document with `--json`, or the exported file), so
scripts can pipe it; progress and errors go to stderr.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from app.cli.groups import cli_errors, tournaments_cli
from app.services.tournaments.file import export_tournament, import_tournament, load_file

# Below this many lobbies and games an import is over before a progress bar would be read.
PROGRESS_THRESHOLD = 100


class _Progress:
    """A progress bar on stderr, opened only once the import turns out to be big."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._shown = 0

    def __call__(self, done: int, total: int) -> None:
        if total < PROGRESS_THRESHOLD:
            return
        if self._bar is None:
            self._bar = click.progressbar(length=total, label="Importing", file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(done - self._shown)
        self._shown = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def _count(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


@tournaments_cli.command("import")
@click.argument("file", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="Print the new database ids as one JSON document.")
@cli_errors
def import_command(file: str, as_json: bool) -> None:
    """Import a tournament file (deltacrown.tournament/v1); refused whole on any error."""
    doc = load_file(file)
    progress = _Progress()
    try:
        result = import_tournament(doc, progress=progress)
    finally:
        progress.close()
    if as_json:
        click.echo(
            json.dumps(
                {"id": result.tournament_id, "slug": result.slug, "matches": result.matches, "series": result.series}
            )
        )
        return
    assert isinstance(doc, dict)  # import_tournament has validated it
    counts = ", ".join(
        [
            _count(len(doc.get("participants") or []), "participant", "participants"),
            _count(len(result.matches), "match", "matches"),
            _count(len(result.series), "series", "series"),
        ]
    )
    click.echo(f'Imported "{doc["tournament"]["name"]}" ({result.slug}): {counts}.')


@tournaments_cli.command("export")
@click.argument("slug")
@cli_errors
def export_command(slug: str) -> None:
    """Print a tournament as a tournament file on stdout."""
    click.echo(json.dumps(export_tournament(slug), indent=2, ensure_ascii=False))
