"""Benchmark: importing a big tournament file (`flask tournaments import`).

Builds a battle-royale file with --rows results (default 100,000: 48 teams in ~2,084 lobbies),
then times, best and median of --repeat rounds:

- parse: the file's bytes read as strict JSON (`parse_json`);
- validate: every rule checked, nothing written (`validate_document`, what `--dry-run` does);
- import: checked and written in one transaction (`import_tournament`), into a fresh database.

SQLite always; PostgreSQL too (--database-url, DATABASE_URL, or the local server at
postgresql+psycopg://postgres@127.0.0.1:5432/test if it answers), in a private schema it drops
afterwards.

    .venv/bin/python bench/import_file.py [--rows 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import create_engine, text  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.services.tournaments.file import import_tournament, parse_json, validate_document  # noqa: E402

TEAMS = 48
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def build(rows: int, teams: int = TEAMS) -> dict[str, Any]:
    lobbies = max(1, rows // teams)
    participants = [{"id": f"team-{i}", "name": f"Team {i}", "tag": f"T{i}"} for i in range(teams)]
    matches = []
    for j in range(lobbies):
        order = [(i + j) % teams for i in range(teams)]
        matches.append(
            {
                "key": f"m{j + 1}",
                "stage": f"Day {j // 100 + 1}",
                "state": "completed",
                "completed_at": f"2026-11-{1 + j % 28:02d}T{j % 24:02d}:{j % 60:02d}:00Z",
                "results": [
                    {"participant": f"team-{p}", "placement": place + 1, "kills": (p * 7 + j) % 13}
                    for place, p in enumerate(order)
                ],
            }
        )
    return {
        "format": "deltacrown.tournament/v1",
        "tournament": {
            "slug": "bench-import",
            "name": "Bench import",
            "game": "freefire",
            "status": "live",
            "scoring": {"preset": "ffws"},
        },
        "participants": participants,
        "matches": matches,
    }


def _app(database_url: str | None, tmp: str):
    if database_url is None:
        config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{os.path.join(tmp, f'{uuid.uuid4().hex}.sqlite3')}"}
        return create_app({"TESTING": True, **config}), None
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    config = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={schema}"}},
    }

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    return create_app({"TESTING": True, **config}), drop


def run(label: str, database_url: str | None, data: bytes, repeat: int) -> None:
    figures: dict[str, list[float]] = {"parse": [], "validate": [], "import": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            app, drop = _app(database_url, tmp)
            try:
                with app.app_context():
                    db.create_all()
                    start = time.perf_counter()
                    doc = parse_json(data, "bench.json")
                    middle = time.perf_counter()
                    validate_document(doc)
                    end = time.perf_counter()
                    import_tournament(doc)
                    done = time.perf_counter()
                    figures["parse"].append((middle - start) * 1000)
                    figures["validate"].append((end - middle) * 1000)
                    figures["import"].append((done - end) * 1000)
                    db.session.remove()
                    db.engine.dispose()
            finally:
                if drop is not None:
                    drop()
    for step, values in figures.items():
        print(f"{label:<11} {step:<9} best {min(values):8.1f} ms   median {statistics.median(values):8.1f} ms")


def _pg_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args()
    if args.rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be at least 1")
    data = json.dumps(build(args.rows)).encode()
    results = (args.rows // TEAMS) * TEAMS
    print(f"{results:,} results in {args.rows // TEAMS:,} lobbies, {len(data) / 1e6:.1f} MB of JSON")
    run("SQLite", None, data, args.repeat)
    url = args.database_url or (PG_DEFAULT if _pg_answers() else None)
    if url and url.startswith("postgresql"):
        run("PostgreSQL", url, data, args.repeat)


if __name__ == "__main__":
    main()
