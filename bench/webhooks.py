"""Benchmark: webhook delivery to realistic receivers, with a hung endpoint in the mix.

    .venv/bin/python bench/webhooks.py [--events 1000] [--latency 200] [--receivers 1]
        [--concurrency 40] [--per-endpoint 32] [--no-hung] [--repeat 1] [--database-url URL]

For each database (SQLite in a temporary file; PostgreSQL at
postgresql+psycopg://postgres@127.0.0.1:5432/test too when it answers, in a private schema the
bench creates and drops) it runs two cases, without and with a hung endpoint:

1. starts `--receivers` HTTP receivers on loopback (threads in this process, HTTP/1.1
   keep-alive) that answer 200 after `--latency` ms and record every event id with the time it
   arrived, and (second case) one receiver that accepts connections and never answers;
2. adds each as a webhook endpoint in the staff sense (a row, an encrypted secret); the hung
   one wants every event type, so it competes for every single event;
3. starts ONE `flask --app wsgi worker` process with WORKER_CONCURRENCY=`--concurrency` and
   WORKER_PER_ENDPOINT=`--per-endpoint`, as an operator would, and waits until it has started;
4. writes `--events` events with `outbox.emit` in one transaction and commits: the clock starts;
5. stops the clock when every healthy receiver has every event;
6. stops the worker with SIGTERM (it hands back what the hung endpoint holds) and checks each
   event arrived at each healthy receiver exactly once (duplicates are counted).

It reports the drain time, deliveries/s to the healthy receivers, p50 and p99 of event->receipt
latency (commit to arrival, so a burst's queueing is in it), and the slowdown the hung endpoint
caused. Goals (issue 13): 1,000 events to a 200 ms receiver in <= 10 s by one worker process,
slowed by <= 10 % with the hung endpoint present; every event received exactly once.

One worker process sends at most WORKER_CONCURRENCY at once and at most WORKER_PER_ENDPOINT to
one endpoint, so a single 200 ms receiver gets at most PER_ENDPOINT / 0.2 s deliveries per second:
the defaults (16 and 4) give 20/s per endpoint, which is why the bench raises both (the hung
endpoint still holds only its own WORKER_PER_ENDPOINT slots).
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
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from urllib.parse import quote  # noqa: E402

from sqlalchemy import create_engine, select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Tournament  # noqa: E402
from app.notifications import endpoints, outbox  # noqa: E402
from app.notifications.sealed import new_key  # noqa: E402

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
GOAL_SECONDS = 10.0
GOAL_SLOWDOWN = 0.10
SECRET = "bench-webhook-secret"


class Receiver:
    """Answers 200 after `latency` seconds; `latency=None`: accepts, reads, never answers."""

    def __init__(self, latency: float | None) -> None:
        self.arrivals: list[tuple[str, float]] = []
        self.lock = threading.Lock()
        self.closing = threading.Event()
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
                if latency is None:
                    receiver.closing.wait()  # hung: never a word back
                    self.close_connection = True
                    return
                with receiver.lock:
                    receiver.arrivals.append((self.headers.get("webhook-id", ""), time.perf_counter()))
                time.sleep(latency)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

            def handle_error(self, request, client_address) -> None:
                pass  # the worker hanging up on the hung receiver is expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def ids(self) -> list[str]:
        with self.lock:
            return [event_id for event_id, _ in self.arrivals]

    def stop(self) -> None:
        self.closing.set()
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
        return f"sqlite:///{path}", {}, lambda: None  # a fresh file per case, whatever the URL
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


def run_case(base_url: str | None, label: str, args: argparse.Namespace, hung: bool, tmp: str) -> dict:
    worker_url, engine_options, drop = database(base_url, tmp)
    healthy = [Receiver(args.latency / 1000) for _ in range(args.receivers)]
    stuck = Receiver(None) if hung else None
    settings = {
        "NOTIFICATIONS_WEBHOOK_ENABLED": "true",
        "NOTIFICATIONS_EMAIL_ENABLED": "false",
        "WEBHOOK_DELIVERY_URL": "",
        "WEBHOOK_SECRET_KEY": SECRET,
        "WEBHOOK_SECRET_KEYS": new_key(),
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "WORKER_POLL_INTERVAL": "0.05",
        "WORKER_CONCURRENCY": str(args.concurrency),
        "WORKER_PER_ENDPOINT": str(args.per_endpoint),
    }
    app = create_app(
        {
            "SECRET_KEY": "bench-secret-key",
            "SQLALCHEMY_DATABASE_URI": worker_url.split("?options=")[0],
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            **{k: (v == "true" if v in ("true", "false") else v) for k, v in settings.items()},
        }
    )
    proc: subprocess.Popen | None = None
    try:
        with app.app_context():
            db.create_all()
            tournament = Tournament(slug="bench-cup", name="Bench Cup", game="freefire", status="live")
            db.session.add(tournament)
            if stuck is not None:
                endpoints.create_endpoint(stuck.url, "hung", [], None)  # first: wants every event
            for receiver in healthy:
                endpoints.create_endpoint(receiver.url, "healthy", [], None)
            db.session.commit()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK_", "WORKER_", "NOTIFICATIONS_"))}
        env.update(settings, DATABASE_URL=worker_url, SECRET_KEY="bench-secret-key", FLASK_DEBUG="0")
        flask = str(Path(sys.executable).with_name("flask"))
        proc = subprocess.Popen(
            [flask, "--app", "wsgi", "worker", "--name", "bench"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = proc.stderr.readline()
        if "started" not in line:
            raise SystemExit(f"the worker did not start: {line}{proc.stderr.read()}")

        with app.app_context():
            t = db.session.scalar(select(Tournament))
            data = outbox.leaderboard_data(t)
            for _ in range(args.events):
                outbox.emit("leaderboard.updated", tournament_id=t.id, data=data, subject=t)
            db.session.commit()
        start = time.perf_counter()
        want = args.events
        while not all(len(r.ids()) >= want for r in healthy):
            if time.perf_counter() - start > 300 or proc.poll() is not None:
                got = [len(r.ids()) for r in healthy]
                raise SystemExit(f"{label}: received {got} of {want}; the worker stopped or 300 s passed")
            time.sleep(0.005)
        drain = time.perf_counter() - start
        time.sleep(0.3)  # room for a duplicate to show up
    finally:
        stop_started = time.perf_counter()
        stop_s = None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.communicate(timeout=60)
                stop_s = time.perf_counter() - stop_started
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
        for receiver in [*healthy, stuck]:
            if receiver is not None:
                receiver.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()
    latencies = sorted((at - start) * 1000 for r in healthy for _, at in r.arrivals)
    received = [r.ids() for r in healthy]
    return {
        "database": label,
        "hung": hung,
        "events": args.events,
        "deliveries": sum(len(ids) for ids in received),
        "unique": sum(len(set(ids)) for ids in received),
        "drain_s": drain,
        "per_s": args.events * args.receivers / drain,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "stop_s": stop_s,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=200.0, help="ms each healthy receiver takes to answer")
    parser.add_argument("--receivers", type=int, default=1, help="healthy receivers (endpoints)")
    parser.add_argument("--concurrency", type=int, default=64, help="WORKER_CONCURRENCY of the worker process")
    parser.add_argument("--per-endpoint", type=int, default=32, help="WORKER_PER_ENDPOINT")
    parser.add_argument("--no-hung", action="store_true", help="skip the case with a hung endpoint")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of both cases")
    parser.add_argument("--database-url", help="one database to use instead of SQLite + local PostgreSQL")
    args = parser.parse_args()
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
        for round_ in range(1, args.repeat + 1):
            for url, label in targets:
                for hung in (False,) if args.no_hung else (False, True):
                    rows.append(run_case(url, label, args, hung, tmp))
                    r = rows[-1]
                    r["round"] = round_
                    print(
                        f"{label:<10} round {round_} {'hung endpoint' if hung else 'no hung endpoint':<16} drained "
                        f"{r['events']} in {r['drain_s']:.2f} s ({r['per_s']:.0f}/s), "
                        f"load {os.getloadavg()[0]:.1f}",
                        file=sys.stderr,
                    )
    print()
    print(
        f"{args.events:,} events, {args.receivers} receiver(s) answering after {args.latency:.0f} ms, one worker "
        f"process, WORKER_CONCURRENCY={args.concurrency}, WORKER_PER_ENDPOINT={args.per_endpoint}"
    )
    print()
    print(
        "| database | round | hung endpoint | drain time | deliveries/s | p50 | p99 | slowdown | received "
        "| duplicates |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    failed = False
    baseline = {(r["database"], r["round"]): r["drain_s"] for r in rows if not r["hung"]}
    for r in rows:
        duplicates = r["deliveries"] - r["unique"]
        slowdown = ""
        if r["hung"] and (r["database"], r["round"]) in baseline:
            ratio = r["drain_s"] / baseline[(r["database"], r["round"])] - 1
            slowdown = f"{ratio:+.0%}"
            failed |= ratio > GOAL_SLOWDOWN
        print(
            f"| {r['database']} | {r['round']} | {'yes' if r['hung'] else 'no'} | {r['drain_s']:.2f} s "
            f"| {r['per_s']:,.0f} | {r['p50_ms']:,.0f} ms | {r['p99_ms']:,.0f} ms | {slowdown} "
            f"| {r['unique']:,} | {duplicates} |"
        )
        if r["unique"] != r["events"] * args.receivers or duplicates or r["drain_s"] > GOAL_SECONDS:
            failed = True
    print()
    print(
        f"Goals: {GOAL_SECONDS:.0f} s or less for 1,000 events; a hung endpoint slows the healthy ones by "
        f"{GOAL_SLOWDOWN:.0%} or less; each event received exactly once."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
