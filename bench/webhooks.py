"""Benchmark: draining the webhook outbox.

    .venv/bin/python bench/webhooks.py [--events 1000] [--workers 1,4] [--database-url URL]

For each database (SQLite in a temporary file; PostgreSQL at
postgresql+psycopg://postgres@127.0.0.1:5432/test too when it answers, in a private schema the
bench creates and drops) and each worker count, it:

1. starts a real HTTP receiver on loopback (a thread in this process, HTTP/1.1 keep-alive,
   answering 200 and counting event ids),
2. starts that many `flask --app wsgi worker` processes, exactly as an operator would, and
   waits until each has started,
3. writes `--events` events with `outbox.emit` in one transaction (as a burst of result
   changes would) and commits: the clock starts,
4. stops the clock when every delivery is recorded as delivered in the database,
5. stops the workers with SIGTERM and checks that every event arrived exactly once.

It prints the drain time and deliveries per second. Goal (the issue): 1,000 events drained in
10 s or less. Worker start-up (importing the app) is outside the timing: workers are long-lived.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from urllib.parse import quote  # noqa: E402

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Tournament  # noqa: E402
from app.notifications import outbox  # noqa: E402
from app.notifications.models import Delivery  # noqa: E402

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
GOAL_SECONDS = 10.0
SECRET = "bench-webhook-secret"


class Receiver:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out as separate writes: without this, Nagle's algorithm and the
                # client's delayed ACK add 40 ms to every answer.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.ids.append(self.headers.get("webhook-id", ""))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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


def database(url: str | None, tmp: str) -> tuple[str, dict, callable]:
    """(URL for the workers, engine options for this process, clean-up) of a fresh database."""
    if url is None or url.startswith("sqlite"):
        path = os.path.join(tmp, f"bench-{uuid.uuid4().hex[:8]}.sqlite3")
        return url or f"sqlite:///{path}", {}, lambda: None
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    options = f"-csearch_path={schema}"
    worker_url = url + ("&" if "?" in url else "?") + "options=" + quote(options)
    return worker_url, {"connect_args": {"options": options}}, drop


def run_case(base_url: str | None, label: str, events: int, workers: int, tmp: str) -> dict:
    worker_url, engine_options, drop = database(base_url, tmp)
    receiver = Receiver()
    settings = {
        "NOTIFICATIONS_WEBHOOK_ENABLED": "true",
        "NOTIFICATIONS_EMAIL_ENABLED": "false",
        "WEBHOOK_DELIVERY_URL": receiver.url,
        "WEBHOOK_SECRET_KEY": SECRET,
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "WORKER_POLL_INTERVAL": "0.05",
    }
    app = create_app(
        {
            "SECRET_KEY": "bench-secret-key",
            "SQLALCHEMY_DATABASE_URI": worker_url.split("?options=")[0],
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            **{k: (v == "true" if v in ("true", "false") else v) for k, v in settings.items()},
        }
    )
    procs: list[subprocess.Popen] = []
    try:
        with app.app_context():
            db.create_all()
            tournament = Tournament(slug="bench-cup", name="Bench Cup", game="freefire", status="live")
            db.session.add(tournament)
            db.session.commit()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK_", "WORKER_", "NOTIFICATIONS_"))}
        env.update(settings, DATABASE_URL=worker_url, SECRET_KEY="bench-secret-key", FLASK_DEBUG="0")
        flask = str(Path(sys.executable).with_name("flask"))
        for i in range(workers):
            procs.append(
                subprocess.Popen(
                    [flask, "--app", "wsgi", "worker", "--name", f"bench-{i}"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for proc in procs:
            line = proc.stderr.readline()
            if "started" not in line:
                raise SystemExit(f"a worker did not start: {line}{proc.stderr.read()}")

        with app.app_context():
            t = db.session.get(Tournament, 1) or db.session.scalar(select(Tournament))
            started_emit = time.perf_counter()
            for _ in range(events):
                outbox.emit("leaderboard.updated", tournament_id=t.id, data=outbox.leaderboard_data(t), subject=t)
            db.session.commit()
            start = time.perf_counter()
            emit_ms = (start - started_emit) * 1000
            while True:
                delivered = db.session.scalar(select(func.count(Delivery.id)).where(Delivery.status == "delivered"))
                db.session.rollback()
                if delivered >= events:
                    break
                if time.perf_counter() - start > 120 or any(p.poll() is not None for p in procs):
                    dead = "".join(p.stderr.read() for p in procs if p.poll() is not None)
                    raise SystemExit(
                        f"{label}: {delivered} of {events} delivered; a worker stopped or 120 s passed\n{dead}"
                    )
                time.sleep(0.01)
            drain = time.perf_counter() - start
            attempts = db.session.scalar(select(func.sum(Delivery.attempts)))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
        receiver.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()
    with receiver.lock:
        received = list(receiver.ids)
    return {
        "database": label,
        "workers": workers,
        "events": events,
        "emit_ms": emit_ms,
        "drain_s": drain,
        "per_s": events / drain,
        "received": len(received),
        "unique": len(set(received)),
        "attempts": attempts,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--workers", default="1,4", help="worker counts, comma-separated")
    parser.add_argument("--database-url", help="one database to use instead of SQLite + local PostgreSQL")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    if args.database_url:
        targets = [(args.database_url, "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite")]
    else:
        targets = [(None, "SQLite")]
        if postgres_answers(DEFAULT_POSTGRES):
            targets.append((DEFAULT_POSTGRES, "PostgreSQL"))
        else:
            print(f"(PostgreSQL at {DEFAULT_POSTGRES} does not answer; SQLite only)", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for url, label in targets:
            for workers in counts:
                rows.append(run_case(url, label, args.events, workers, tmp))
                r = rows[-1]
                print(
                    f"{label:<10} workers={workers}  drained {r['events']} in {r['drain_s']:.2f} s "
                    f"({r['per_s']:.0f}/s)",
                    file=sys.stderr,
                )
    print()
    print("| database | workers | events | emit (1 transaction) | drain time | deliveries/s | received | duplicates |")
    print("|---|---|---|---|---|---|---|---|")
    failed = False
    for r in rows:
        duplicates = r["received"] - r["unique"]
        print(
            f"| {r['database']} | {r['workers']} | {r['events']:,} | {r['emit_ms']:.0f} ms | {r['drain_s']:.2f} s "
            f"| {r['per_s']:,.0f} | {r['unique']:,} | {duplicates} |"
        )
        if r["unique"] != r["events"] or duplicates or r["drain_s"] > GOAL_SECONDS:
            failed = True
    print()
    print(f"Goal: {GOAL_SECONDS:.0f} s or less for 1,000 events, each received exactly once.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
