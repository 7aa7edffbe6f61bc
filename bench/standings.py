"""Benchmark: battle-royale standings over many result rows.

    .venv/bin/python bench/standings.py [--database-url URL] [--rows 10000,100000] [--teams 64]
                                        [--repeat 5] [--profile]

Without --database-url it runs on SQLite (a temporary file) and, when the PostgreSQL server at
postgresql+psycopg://postgres@127.0.0.1:5432/test answers, on PostgreSQL too (in a private schema
that the bench creates and drops). For each size it builds one Free Fire tournament with `--teams`
participants and enough completed lobbies (one row per team per lobby; the last lobby partial) to
reach exactly N result rows, then times `LeaderboardService.calculate_br_standings` in a fresh
session per call (as a web request would): one warm-up, then the median and minimum of --repeat
calls. It also counts the SQL statements per call, which must stay a small constant whatever N is
(no N+1).

Presets timed: `ffws` (wins, total_kills, last_match_placement: the per-match placement history
is the costly tiebreaker) and `deltacrown` (total_kills, best_placement, earliest_completion).
Target (the issue): under 50 ms for 10,000 rows.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from sqlalchemy import create_engine, event, insert, select, text, update  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Match, MatchResult, Participant, PointAdjustment, Tournament  # noqa: E402
from app.services.standings import engine as standings_engine  # noqa: E402
from app.services.standings.leaderboard import LeaderboardService  # noqa: E402

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET_MS = 50.0
TARGET_ROWS = 10_000
PRESETS = ("ffws", "deltacrown")
T0 = datetime(2025, 11, 13, 14, 0, tzinfo=UTC)
CHUNK = 5000


# --------------------------------------------------------------------------- databases


def postgres_answers(url: str) -> bool:
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


@contextmanager
def database(url: str | None):
    """(label, app config) for a private, empty database; removed afterwards."""
    if url is None or url.startswith("sqlite"):
        if url is not None:
            yield "sqlite", {"SQLALCHEMY_DATABASE_URI": url}
            return
        with tempfile.TemporaryDirectory(prefix="bench-standings-") as tmp:
            path = f"sqlite:///{os.path.join(tmp, 'bench.sqlite3')}"
            yield "sqlite", {"SQLALCHEMY_DATABASE_URI": path}
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            "postgresql",
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={schema}"}},
            },
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


# --------------------------------------------------------------------------- data


def build_tournament(rows: int, teams: int, seed: int) -> int:
    """One live Free Fire tournament with exactly `rows` result rows in completed lobbies."""
    rng = random.Random(seed)
    tournament = Tournament(
        slug=f"bench-{rows}-{uuid.uuid4().hex[:6]}",
        name=f"Bench {rows}",
        game="freefire",
        status="live",
        scoring_preset="ffws",
    )
    db.session.add(tournament)
    db.session.flush()
    tid = tournament.id
    db.session.execute(
        insert(Participant),
        [{"tournament_id": tid, "key": f"team-{i:03d}", "name": f"Team {i:03d}"} for i in range(1, teams + 1)],
    )
    pids = list(db.session.scalars(select(Participant.id).where(Participant.tournament_id == tid)))

    lobbies = -(-rows // teams)
    db.session.execute(
        insert(Match),
        [
            {
                "tournament_id": tid,
                "key": f"m{i + 1}",
                "stage": f"Day {i // 6 + 1}",
                "state": "completed",
                # Sometimes two lobbies share a time, so file order breaks the tie.
                "completed_at": T0 + timedelta(minutes=40 * (i - (i % 7 == 6))),
                "position": i,
            }
            for i in range(lobbies)
        ],
    )
    match_ids = list(db.session.scalars(select(Match.id).where(Match.tournament_id == tid).order_by(Match.position)))

    batch: list[dict] = []
    left = rows
    for match_id in match_ids:
        count = min(teams, left)
        left -= count
        playing = rng.sample(pids, count)
        for placement, pid in enumerate(playing, start=1):
            batch.append(
                {"match_id": match_id, "participant_id": pid, "placement": placement, "kills": rng.randint(0, 6)}
            )
        if len(batch) >= CHUNK:
            db.session.execute(insert(MatchResult), batch)
            batch = []
    if batch:
        db.session.execute(insert(MatchResult), batch)
    db.session.execute(
        insert(PointAdjustment),
        [{"tournament_id": tid, "participant_id": pids[i], "points": -5, "reason": "Late to lobby"} for i in (0, 3)],
    )
    db.session.commit()
    return tid


# --------------------------------------------------------------------------- timing


class StatementCounter:
    def __init__(self, engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._on_execute)
        self.engine = engine

    def _on_execute(self, *_args) -> None:
        self.count += 1

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_execute)


def one_call(tid: int) -> tuple[float, int]:
    """Seconds and result length of one standings call in a fresh session."""
    db.session.remove()
    start = time.perf_counter()
    standings = LeaderboardService.calculate_br_standings(tid)
    elapsed = time.perf_counter() - start
    db.session.rollback()
    return elapsed, len(standings)


def measure(tid: int, repeat: int, teams: int) -> dict:
    counter = StatementCounter(db.engine)
    try:
        one_call(tid)  # warm-up: statement caches, connection pool
        counter.count = 0
        times = []
        for _ in range(repeat):
            elapsed, length = one_call(tid)
            assert length == teams, f"expected {teams} standings rows, got {length}"
            times.append(elapsed)
        queries = counter.count / repeat
    finally:
        counter.close()
    fetch, compute = split(tid, repeat)
    return {
        "median": statistics.median(times) * 1000,
        "min": min(times) * 1000,
        "queries": queries,
        "fetch": fetch,
        "compute": compute,
    }


def split(tid: int, repeat: int) -> tuple[float, float]:
    """Median ms of (reading the result rows into Python, the pure computation), measured by
    wrapping `compute_standings` so that it first materialises the rows it is handed (the
    queries themselves have already run by then)."""
    original = standings_engine.compute_standings
    fetch: list[float] = []
    compute: list[float] = []

    def timed(rows, *args, **kwargs):
        start = time.perf_counter()
        rows = list(rows)
        middle = time.perf_counter()
        try:
            return original(rows, *args, **kwargs)
        finally:
            fetch.append(middle - start)
            compute.append(time.perf_counter() - middle)

    standings_engine.compute_standings = timed
    try:
        for _ in range(repeat):
            one_call(tid)
    finally:
        standings_engine.compute_standings = original
    return statistics.median(fetch) * 1000, statistics.median(compute) * 1000


def set_preset(tid: int, preset: str) -> None:
    db.session.execute(update(Tournament).where(Tournament.id == tid).values(scoring_preset=preset))
    db.session.commit()


def profile(tid: int, label: str) -> None:
    db.session.remove()
    profiler = cProfile.Profile()
    profiler.enable()
    LeaderboardService.calculate_br_standings(tid)
    profiler.disable()
    db.session.rollback()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)
    print(f"\n--- cProfile, {label} ---")
    print(out.getvalue())


def run(url: str | None, sizes: list[int], teams: int, repeat: int, do_profile: bool) -> list[dict]:
    results = []
    with database(url) as (label, config):
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "MAIL_SUPPRESS_SEND": True, **config})
        with app.app_context():
            db.create_all()
            try:
                for rows in sizes:
                    start = time.perf_counter()
                    tid = build_tournament(rows, teams, seed=rows)
                    if label == "postgresql":
                        # What autovacuum would have done by the time anyone asks for standings.
                        db.session.execute(text("ANALYZE"))
                        db.session.commit()
                    build = time.perf_counter() - start
                    print(f"[{label}] built {rows:,} rows in {build:.1f} s", file=sys.stderr)
                    for preset in PRESETS:
                        set_preset(tid, preset)
                        figures = measure(tid, repeat, min(teams, rows))
                        results.append({"database": label, "rows": rows, "preset": preset, **figures})
                        if do_profile:
                            profile(tid, f"{label}, {rows:,} rows, {preset}")
            finally:
                db.session.remove()
                db.engine.dispose()
    return results


def report(results: list[dict]) -> None:
    header = (
        f"{'database':<11} {'rows':>8} {'preset':<11} {'ms median':>10} {'ms min':>8} {'rows/s':>11} "
        f"{'queries/call':>13} {'read ms':>9} {'compute ms':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        rate = r["rows"] / (r["median"] / 1000)
        print(
            f"{r['database']:<11} {r['rows']:>8,} {r['preset']:<11} {r['median']:>10.1f} {r['min']:>8.1f} "
            f"{rate:>11,.0f} {r['queries']:>13g} {r['fetch']:>9.1f} {r['compute']:>11.1f}"
        )
    print()
    keys = sorted({(r["database"], r["preset"]) for r in results})
    for database_label, preset in keys:
        rows = [r for r in results if r["database"] == database_label and r["preset"] == preset]
        growth = ", ".join(f"{r['rows']:,}: {r['median'] / (r['rows'] / 1000):.2f}" for r in rows)
        print(f"growth {database_label}/{preset}: ms per 1000 rows at {growth}")
    print()
    for r in results:
        if r["rows"] == TARGET_ROWS:
            verdict = "met" if r["median"] < TARGET_MS else "MISSED"
            print(
                f"target <{TARGET_MS:g} ms at {TARGET_ROWS:,} rows, {r['database']}/{r['preset']}: "
                f"{verdict} ({r['median']:.1f} ms)"
            )
    print("read ms: reading the result rows into Python (after the query ran); compute ms: compute_standings")
    print("on those rows. Measured in a separate pass that first puts every row in one list (extra allocation")
    print("and GC at large N), so read + compute can exceed the median; at 10,000 rows the rest is the queries.")
    most = max((r["queries"] for r in results), default=0)
    print(f"statements per standings call: at most {most:g} at every size (constant: no N+1)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="run on this database only (default: SQLite, and PostgreSQL if up)")
    parser.add_argument("--rows", default="10000,100000", help="comma-separated result-row counts")
    parser.add_argument("--teams", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one call per size")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.rows.split(",") if s.strip()]
    if args.teams < 1 or args.repeat < 1 or any(n < 1 for n in sizes):
        parser.error("--rows, --teams and --repeat must be positive")

    urls: list[str | None]
    if args.database_url:
        urls = [args.database_url]
    else:
        urls = [None]
        if postgres_answers(DEFAULT_POSTGRES):
            urls.append(DEFAULT_POSTGRES)
        else:
            print(f"PostgreSQL at {DEFAULT_POSTGRES} does not answer; SQLite only", file=sys.stderr)

    results = []
    for url in urls:
        results += run(url, sizes, args.teams, args.repeat, args.profile)
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
