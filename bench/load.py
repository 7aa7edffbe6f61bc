"""Load test: N viewers polling a 64-team tournament every second, as htmx does, while staff post
a lobby every 10 s; with and without the nginx micro-cache.

    .venv/bin/python bench/load.py [--viewers 1000,5000,10000] [--direct-viewers 200,1000]
                                   [--duration 15] [--database-url URL] [--plot bench/load.svg]

It starts the production topology (deploy/cluster.py: nginx, two app instances, two delivery
workers) on loopback ports, in a private PostgreSQL schema dropped afterwards, then for each N
runs `wrk` (a Lua script: every connection is one viewer sending the newest ETag its wrk thread
has seen in `If-None-Match`, one request per second) for `--duration` seconds against nginx
("cache"), and against one app instance directly ("no cache"). Reported per run:

- p50/p99 latency and the error rate (connect/read/timeout errors and statuses other than 200/304);
- requests that reached the app per second, and the most requests one cache key got in one
  second (nginx's access log: every answer that was not a cache HIT);
- staleness: for each posted lobby, the time from the API's 201 to the first viewer answer that
  carries the new version (p50/p99/max).

Everything stays on 127.0.0.1 and every run is bounded by --duration. The figures and a plot
(viewers -> p99 latency, with/without cache) are written next to this file.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py would shadow the standard library's `http` package (requests needs it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

SLUG = "load-final"
TEAMS = [f"T{n:02d}" for n in range(1, 65)]
PAGE = f"/tournaments/{SLUG}/"
REACHED_APP = {"MISS", "EXPIRED", "REVALIDATED", "BYPASS"}

LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_usec; } dc_timeval;
int gettimeofday(dc_timeval *tv, void *tz);
]]
local tv = ffi.new("dc_timeval")
local function now()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) + tonumber(tv.tv_usec) / 1e6
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  etag = nil
  best = -1
  seen = {}      -- version -> first time this thread saw it
  ok = 0
  bad = 0
end

function delay()
  return 1000   -- each connection is a viewer polling once a second
end

function request()
  local headers = { ["HX-Request"] = "true", ["Accept-Encoding"] = "gzip" }
  if etag then headers["If-None-Match"] = etag end
  return wrk.format("GET", wrk.path, headers)
end

function response(status, headers, body)
  if status == 200 or status == 304 then ok = ok + 1 else bad = bad + 1 end
  local tag = headers["ETag"] or headers["etag"]
  if status == 200 and tag then
    local v = tonumber(string.match(tag, "%.(%d+)%-"))
    if v and v > best then
      best = v
      etag = tag
      if seen[v] == nil then seen[v] = now() end
    end
  end
end

function done(summary, latency, requests)
  local firsts = {}
  local good, errors = 0, 0
  for _, t in ipairs(threads) do
    good = good + t:get("ok")
    errors = errors + t:get("bad")
    local s = t:get("seen")
    for v, at in pairs(s) do
      if firsts[v] == nil or at < firsts[v] then firsts[v] = at end
    end
  end
  local parts = {}
  for v, at in pairs(firsts) do table.insert(parts, string.format('"%d": %.3f', v, at)) end
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, "status_errors": %d, ' ..
    '"ok": %d, "bad": %d, "first_seen": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    summary.errors.status, good, errors, table.concat(parts, ", ")))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Staff(threading.Thread):
    """Posts a lobby every `every` seconds; records (version, time of the 201)."""

    def __init__(self, base: str, token: str, app, every: float = 10.0) -> None:
        super().__init__(daemon=True)
        self.base, self.token, self.app, self.every = base, token, app, every
        self.posted: dict[int, float] = {}
        self.stop = threading.Event()
        self.n = 0

    def run(self) -> None:
        from app.extensions import db
        from app.models import Tournament

        while not self.stop.wait(self.every if self.n else 2.0):
            self.n += 1
            results = [
                {"participant": t, "placement": (i + self.n) % 64 + 1, "kills": (i * self.n) % 7}
                for i, t in enumerate(TEAMS)
            ]
            response = requests.post(
                f"{self.base}/api/tournaments/{SLUG}/matches/",
                json={"stage": "Grand final", "results": results},
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=30,
            )
            acknowledged = time.time()
            if response.status_code != 201:
                print(f"  staff post failed: {response.status_code}", file=sys.stderr)
                continue
            with self.app.app_context():
                version = db.session.scalar(db.select(Tournament.results_version).filter_by(slug=SLUG))
                db.session.remove()
            self.posted[int(version)] = acknowledged


def seed(database_url: str):
    from app import create_app
    from app.extensions import db
    from app.models import User
    from app.services.accounts.tokens import create_token
    from tests import factories as f

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        t = f.br_tournament(SLUG, teams=tuple(TEAMS), preset="ffws")
        for n in range(6):
            f.lobby(
                t,
                [(team, (i + n) % 64 + 1, i % 4) for i, team in enumerate(TEAMS)],
                stage="Grand final",
                key=f"seed{n}",
                minutes=n,
            )
        user = User(email="bench-staff@example.com", display_name="Bench", is_staff=True)
        user.set_password("bench password 123")
        db.session.add(user)
        db.session.commit()
        token = create_token(user.id)
    return app, token


def run_wrk(url: str, viewers: int, duration: int, script: Path) -> dict:
    threads = max(1, min(4, viewers // 250 or 1))
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(viewers),
            "-d",
            f"{duration}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=duration + 60,
    )
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result:\n{out.stdout}\n{out.stderr}")
    return json.loads(line[len("WRKJSON ") :])


def app_requests(log: Path, start: float, end: float) -> tuple[float, int]:
    """Requests nginx passed to the app per second, and the most one key got in one second."""
    per_second: Counter = Counter()
    per_key_second: Counter = Counter()
    total = 0
    if not log.exists():
        return 0.0, 0
    for line in log.read_text(errors="replace").splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 4:
            continue
        at = float(parts[0])
        # HIT, UPDATING and STALE are answered by nginx alone; MISS, EXPIRED and REVALIDATED
        # went to an app instance ("-": a location without a cache, e.g. the staff's posts).
        if not start <= at <= end or parts[2] not in REACHED_APP:
            continue
        total += 1
        second = int(at)
        per_second[second] += 1
        per_key_second[(parts[3], second)] += 1
    span = max(1.0, end - start)
    return total / span, max(per_key_second.values(), default=0)


def staleness(posted: dict[int, float], first_seen: dict[str, float]) -> list[float]:
    return [
        first_seen[str(v)] - at for v, at in posted.items() if str(v) in first_seen and first_seen[str(v)] >= at - 1
    ]


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", default="1000,5000,10000")
    parser.add_argument("--direct-viewers", default="200,1000")
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument(
        "--warmup",
        type=int,
        default=5,
        help="seconds of unrecorded polling (through nginx and direct) before the first run",
    )
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--results", default=str(ROOT / "bench" / "load-results.json"))
    parser.add_argument("--plot", default=str(ROOT / "bench" / "load.svg"))
    args = parser.parse_args()

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.database_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    database_url = f"{args.database_url}?options=-csearch_path%3D{schema}"
    run_dir = Path(tempfile.mkdtemp(prefix="deltacrown-load-"))
    ports = [free_port() for _ in range(3)]
    supervisor = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "deploy" / "cluster.py"),
            "--port",
            str(ports[0]),
            "--app-ports",
            f"{ports[1]},{ports[2]}",
            "--app-workers",
            "3",
            "--run-dir",
            str(run_dir),
            "--database-url",
            database_url,
            "--access-log",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    runs: list[dict] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if supervisor.poll() is not None:
                raise RuntimeError(f"cluster exited; logs in {run_dir}")
            state_file = run_dir / "cluster.json"
            if state_file.exists() and json.loads(state_file.read_text()).get("ready"):
                break
            time.sleep(0.5)
        else:
            raise RuntimeError(f"cluster did not start; logs in {run_dir}")
        app, token = seed(database_url)
        script = run_dir / "viewer.lua"
        script.write_text(LUA)
        log = run_dir / "logs" / "access.log"
        plan = [("cache", f"http://127.0.0.1:{ports[0]}", int(n)) for n in args.viewers.split(",") if n]
        plan += [("no cache", f"http://127.0.0.1:{ports[1]}", int(n)) for n in args.direct_viewers.split(",") if n]
        # A cold start (gunicorn workers importing templates and opening their first database
        # connections, nginx creating its cache files) put a one-off 0.5 s p99 on whichever run
        # came first; the figures are for a running site, so the first seconds are not recorded.
        if args.warmup > 0:
            for base in {base for _, base, _ in plan}:
                run_wrk(base + PAGE, 200, args.warmup, script)
        load = os.getloadavg()[0]
        for mode, base, viewers in plan:
            staff = Staff(f"http://127.0.0.1:{ports[0]}", token, app)
            start = time.time()
            staff.start()
            result = run_wrk(base + PAGE, viewers, args.duration, script)
            staff.stop.set()
            staff.join(timeout=30)
            end = time.time()
            if mode == "cache":
                app_rps, per_key = app_requests(log, start, end)
            else:
                app_rps, per_key = result["requests"] / (result["duration_us"] / 1e6), None
            stale = staleness(staff.posted, result["first_seen"])
            errors = result["connect_errors"] + result["read_errors"] + result["timeouts"] + result["bad"]
            run = {
                "mode": mode,
                "viewers": viewers,
                "requests_per_s": round(result["requests"] / (result["duration_us"] / 1e6), 1),
                "p50_ms": round(result["p50_us"] / 1000, 1),
                "p99_ms": round(result["p99_us"] / 1000, 1),
                "error_rate": round(errors / max(1, result["requests"] + errors), 4),
                "app_requests_per_s": round(app_rps, 1),
                "max_app_requests_per_key_per_s": per_key,
                "lobbies_posted": len(staff.posted),
                "staleness_s": [round(s, 3) for s in sorted(stale)],
                "staleness_p50_s": pct(stale, 50),
                "staleness_p99_s": pct(stale, 99),
                "load_average_before": round(load, 2),
                "window": [round(start, 3), round(end, 3)],
            }
            runs.append(run)
            print(json.dumps(run))
            load = os.getloadavg()[0]
            time.sleep(2)
    finally:
        supervisor.send_signal(signal.SIGTERM)
        try:
            supervisor.wait(timeout=30)
        except subprocess.TimeoutExpired:
            supervisor.kill()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    cached = [s for run in runs if run["mode"] == "cache" for s in run["staleness_s"]]
    summary = {
        "cache_staleness_samples": len(cached),
        "cache_staleness_p50_s": pct(cached, 50),
        "cache_staleness_p99_s": pct(cached, 99),
        "cache_staleness_max_s": max(cached, default=None),
    }
    print(json.dumps(summary))
    Path(args.results).write_text(
        json.dumps(
            {"cpus": os.cpu_count(), "duration_s": args.duration, "warmup_s": args.warmup, "runs": runs, **summary},
            indent=2,
        )
    )
    write_plot(runs, Path(args.plot))
    return 0


def write_plot(runs: list[dict], path: Path) -> None:
    """viewers -> p99 latency, one line per mode; an SVG written by hand (no plotting library)."""
    width, height, left, bottom, top, right = 640, 400, 70, 50, 30, 150
    series = {}
    for run in runs:
        series.setdefault(run["mode"], []).append((run["viewers"], run["p99_ms"]))
    max_x = max((v for pts in series.values() for v, _ in pts), default=1)
    max_y = max((ms for pts in series.values() for _, ms in pts), default=1) * 1.1 or 1

    def sx(v: float) -> float:
        return left + (width - left - right) * v / max_x

    def sy(ms: float) -> float:
        return height - bottom - (height - bottom - top) * ms / max_y

    colours = {"cache": "#1b7f3b", "no cache": "#b3261e"}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{left}" y="18" font-size="14">p99 latency by simulated viewers (1 poll/s each)</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="black"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>',
        f'<text x="{(left + width - right) / 2}" y="{height - 12}" text-anchor="middle">viewers</text>',
        f'<text x="16" y="{(top + height - bottom) / 2}" transform="rotate(-90 16 {(top + height - bottom) / 2})" '
        'text-anchor="middle">p99 latency (ms)</text>',
    ]
    for i in range(5):
        y_val = max_y * i / 4
        parts.append(f'<text x="{left - 6}" y="{sy(y_val) + 4:.1f}" text-anchor="end">{y_val:.0f}</text>')
        parts.append(
            f'<line x1="{left}" y1="{sy(y_val):.1f}" x2="{width - right}" y2="{sy(y_val):.1f}" stroke="#ddd"/>'
        )
    xs = sorted({v for pts in series.values() for v, _ in pts})
    for v in xs:
        parts.append(f'<text x="{sx(v):.1f}" y="{height - bottom + 16}" text-anchor="middle">{v}</text>')
    for n, (mode, pts) in enumerate(sorted(series.items())):
        colour = colours.get(mode, "#333")
        pts.sort()
        path_d = " ".join(f"{'M' if i == 0 else 'L'}{sx(v):.1f},{sy(ms):.1f}" for i, (v, ms) in enumerate(pts))
        parts.append(f'<path d="{path_d}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for v, ms in pts:
            parts.append(f'<circle cx="{sx(v):.1f}" cy="{sy(ms):.1f}" r="4" fill="{colour}"/>')
            parts.append(f'<text x="{sx(v) + 6:.1f}" y="{sy(ms) - 6:.1f}" fill="{colour}">{ms:.0f}</text>')
        ly = top + 20 + 20 * n
        parts.append(
            f'<line x1="{width - right + 15}" y1="{ly}" x2="{width - right + 40}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        parts.append(f'<text x="{width - right + 45}" y="{ly + 4}">{mode}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")


if __name__ == "__main__":
    sys.exit(main())
