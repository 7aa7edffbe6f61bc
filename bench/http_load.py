"""HTTP benchmark of the public pages under gunicorn: what a crowd of viewers costs.

    .venv/bin/python bench/http_load.py [--workers 2] [--duration 5] [--rounds 3] [--connections 32]
                                   [--teams 64] [--lobbies 100] [--database-url URL]

Builds a Free Fire tournament (64 teams x 100 lobbies by default) in a fresh database (a temporary
SQLite file, or a private schema on the PostgreSQL server given with --database-url), serves it
with gunicorn (several sync workers, production settings), and drives it with wrk. Prints
requests/s, p50 and p99 latency for:

- `/healthz` (the floor: one `SELECT 1` per request),
- the full page (anonymous, as a first visit),
- the fragment after a change (what every open page fetches once after a new result: a result is
  recorded first, so the first request per worker renders the new version, the rest are cached),
- an unchanged poll (the fragment with `If-None-Match` of the current version: a 304),

each side by side with its ratio to `/healthz` (medians over `--rounds` rounds that interleave
the scenarios, so a load that drifts on a shared machine hits them all alike).
Goal (issue 6): unchanged poll >= 0.9x and fragment >= 0.8x of /healthz. It also times the render
of a new version (the cold request).

wrk is the Debian package `wrk`; when it is missing the script installs it with apt-get if it runs
as root, and otherwise says what to run.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
SLUG = "bench-cup"


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: installing the Debian package (apt-get install -y wrk) ...", file=sys.stderr)
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        wrk = shutil.which("wrk")
        if wrk:
            return wrk
    sys.exit("wrk is not installed: run `sudo apt-get install wrk` (Debian/Ubuntu) or `brew install wrk`, then retry")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tournament_file(teams: int, lobbies: int) -> dict[str, Any]:
    start = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    participants = [{"id": f"team-{i + 1}", "name": f"Team {i + 1:02d}"} for i in range(teams)]
    matches = []
    for n in range(lobbies):
        order = [(i * 7 + n * 13) % teams for i in range(teams)]
        matches.append(
            {
                "key": f"m{n + 1}",
                "stage": f"Day {n // 25 + 1}",
                "state": "completed",
                "completed_at": (start + timedelta(minutes=30 * n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "results": [
                    {"participant": f"team-{team + 1}", "placement": place + 1, "kills": (team + n) % 9}
                    for place, team in enumerate(order)
                ],
            }
        )
    return {
        "format": "deltacrown.tournament/v1",
        "tournament": {"name": "Bench Cup", "slug": SLUG, "game": "freefire", "status": "live", "advancing": 16},
        "participants": participants,
        "matches": matches,
        "adjustments": [{"participant": "team-3", "points": -5, "reason": "Late to lobby"}],
    }


def prepare_database(url: str, schema: str | None, teams: int, lobbies: int) -> str:
    """Create the tables and the tournament; return a bearer token of a staff user."""
    from app import create_app
    from app.extensions import db
    from app.models import User
    from app.services.accounts.tokens import create_token
    from app.services.tournaments.file import import_tournament

    config: dict[str, Any] = {"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url}
    if schema:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": f"-csearch_path={schema}"}}
    app = create_app(config)
    with app.app_context():
        db.create_all()
        import_tournament(tournament_file(teams, lobbies))
        user = User(email="bench@example.com", display_name="bench", is_staff=True)
        user.set_password(secrets.token_hex(8))
        db.session.add(user)
        db.session.commit()
        token = create_token(user.id)
        db.session.remove()
        db.engine.dispose()
    return token


def start_gunicorn(port: int, workers: int, env: dict[str, str]) -> subprocess.Popen:
    gunicorn = os.path.join(VENV_BIN, "gunicorn")
    if not os.path.exists(gunicorn):
        gunicorn = shutil.which("gunicorn") or sys.exit("gunicorn is not installed: pip install -e '.[prod]'")
    process = subprocess.Popen(
        [gunicorn, "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    sys.exit("gunicorn did not answer /healthz within 30 s")


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), b""


def record_result(base: str, token: str, n: int) -> None:
    import json

    body = json.dumps(
        {"stage": "Day 9", "results": [{"participant": "team-1", "placement": 1, "kills": n % 9}]}
    ).encode()
    request = urllib.request.Request(
        f"{base}/api/tournaments/{SLUG}/matches/",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201, response.status


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(wrk: str, url: str, headers: dict[str, str], args) -> dict[str, float]:
    command = [wrk, "--latency", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.duration}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p50": p50,
        "p99": p99,
        "non_2xx_3xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per scenario and round (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all scenarios; medians are shown (3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--teams", type=int, default=64)
    parser.add_argument("--lobbies", type=int, default=100)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    wrk = ensure_wrk()
    workdir = tempfile.mkdtemp(prefix="deltacrown-bench-")
    schema = None
    if args.database_url and args.database_url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        url = args.database_url
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin = create_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    else:
        url = args.database_url or f"sqlite:///{os.path.join(workdir, 'bench.sqlite3')}"

    process = None
    try:
        print(f"Building {args.teams} teams x {args.lobbies} lobbies ...", file=sys.stderr)
        token = prepare_database(url, schema, args.teams, args.lobbies)
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": secrets.token_hex(32),
            "FLASK_DEBUG": "0",
        }
        if schema:
            # The app reads DATABASE_URL only; the schema goes in through libpq's PGOPTIONS.
            env["PGOPTIONS"] = f"-csearch_path={schema}"
        process = start_gunicorn(port, args.workers, env)
        base = f"http://127.0.0.1:{port}"
        page_url = f"{base}/tournaments/{SLUG}/"

        # The cost of one new version: record a result, then time the first fragment request.
        record_result(base, token, 0)
        started = time.perf_counter()
        status, headers, body = get(page_url, {"HX-Request": "true"})
        cold_ms = (time.perf_counter() - started) * 1000
        assert status == 200, status
        etag = headers["ETag"]
        status_page, _, page_body = get(page_url)
        assert status_page == 200
        assert get(page_url, {"HX-Request": "true", "If-None-Match": etag})[0] == 304

        # Every request says what browsers say: gzip is welcome (wrk sends no Accept-Encoding).
        gz = {"Accept-Encoding": "gzip, deflate, br"}
        scenarios = [
            ("/healthz", f"{base}/healthz", gz),
            ("full page", page_url, gz),
            ("fragment after a change", page_url, {**gz, "HX-Request": "true"}),
            ("unchanged poll (304)", page_url, {**gz, "HX-Request": "true", "If-None-Match": etag}),
        ]
        # Rounds interleave the scenarios, and the median of each figure is reported: on a shared
        # machine the load drifts, and a single run per scenario compares different moments.
        runs: dict[str, list[dict[str, float]]] = {name: [] for name, _target, _extra in scenarios}
        changes = 0
        for round_number in range(1, args.rounds + 1):
            for name, target, extra in scenarios:
                if name.startswith("fragment"):
                    changes += 1
                    record_result(base, token, changes)  # a new version: each worker renders it once
                if name.startswith("unchanged"):
                    # The ETag of the version now current (the fragment scenario made a new one).
                    status, now_headers, _ = get(page_url, {**gz, "HX-Request": "true"})
                    extra = {**extra, "If-None-Match": now_headers["ETag"]}
                    assert get(page_url, extra)[0] == 304
                print(
                    f"round {round_number}/{args.rounds}: wrk {args.duration}s, {args.connections} connections: {name}",
                    file=sys.stderr,
                )
                runs[name].append(run_wrk(wrk, target, extra, args))
        results = [
            (
                name,
                {
                    "rps": statistics.median(r["rps"] for r in figures),
                    "p50": statistics.median(r["p50"] for r in figures),
                    "p99": statistics.median(r["p99"] for r in figures),
                    "non_2xx_3xx": sum(int(r["non_2xx_3xx"]) for r in figures),
                    "socket_errors": "; ".join(str(r["socket_errors"]) for r in figures if r["socket_errors"]),
                },
            )
            for name, figures in runs.items()
        ]

        floor = results[0][1]["rps"]
        print()
        print(
            f"gunicorn {args.workers} sync workers, {os.cpu_count()} CPUs, "
            f"{args.teams} teams x {args.lobbies} lobbies, "
            f"{'PostgreSQL' if schema else 'SQLite'}; wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
            f"median of {args.rounds} rounds"
        )
        packed = len(get(page_url, {**gz, "HX-Request": "true"})[2])
        print(
            f"page {len(page_body):,} bytes, fragment {len(body):,} bytes ({packed:,} gzipped); "
            f"render of a new version {cold_ms:.0f} ms"
        )
        print()
        print(f"{'scenario':<26} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'x /healthz':>11}")
        for name, figures in results:
            note = ""
            if figures["non_2xx_3xx"]:
                note += f"  ({figures['non_2xx_3xx']} non-2xx/3xx)"
            if figures["socket_errors"]:
                note += f"  ({figures['socket_errors']})"
            print(
                f"{name:<26} {figures['rps']:>9,.0f} {figures['p50']:>8.2f} {figures['p99']:>8.2f} "
                f"{figures['rps'] / floor:>10.2f}x{note}"
            )
        ratios = {name: figures["rps"] / floor for name, figures in results}
        print()
        print(
            "goal: unchanged poll >= 0.9x ({:.2f}x), fragment >= 0.8x ({:.2f}x)".format(
                ratios["unchanged poll (304)"], ratios["fragment after a change"]
            )
        )
    finally:
        if process is not None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        if schema:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
