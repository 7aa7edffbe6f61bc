"""Peak memory of a payment-proof screenshot upload under gunicorn (issue 27, item 2).

Starts gunicorn (one worker process with 4 threads, production settings) on a fresh SQLite file
(or the PostgreSQL of `--database-url`, in a schema of its own), registers one team per upload,
logs its captain in and sends each image as the proof's screenshot. Before each upload the
worker's peak RSS is reset (`/proc/PID/clear_refs`, Linux); after it, the peak (VmHWM) minus the
RSS just before is what that one upload cost. Prints one line per image and exits 1 when the
worst accepted image costs more than --budget MB (default 100).

    .venv/bin/python bench/proof_upload.py [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import io
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
SLUG = "proof-bench"
PASSWORD = "bench password 1"


def images() -> list[tuple[str, bytes, bool]]:
    """(label, file, accepted?): the worst accepted PNG and JPEG, and the probe's 6300x6300 bomb."""
    from PIL import Image

    def png(mode: str, size: tuple[int, int]) -> bytes:
        out = io.BytesIO()
        Image.new(mode, size, (7, 7, 7, 200) if mode == "RGBA" else 7).save(out, "PNG", optimize=True)
        return out.getvalue()

    def jpeg(size: tuple[int, int]) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", size, (30, 60, 90)).save(out, "JPEG", quality=80)
        return out.getvalue()

    return [
        ("png-rgba-4096x3900 (worst accepted)", png("RGBA", (4096, 3900)), True),
        ("jpeg-4096x3900", jpeg((4096, 3900)), True),
        ("png-1440x3200 (a phone screenshot)", png("RGBA", (1440, 3200)), True),
        ("png-6300x6300 (the probe's bomb)", png("L", (6300, 6300)), False),
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str, captains: int) -> None:
    from app import create_app
    from app.extensions import db
    from app.models import Tournament, User
    from app.services.registration import entries, settings_save

    config = {"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url}
    app = create_app(config)
    with app.app_context():
        db.create_all()
        tournament = Tournament(slug=SLUG, name="Proof Bench", game="freefire", status="registration")
        staff = User(email="staff@bench.example", is_staff=True)
        db.session.add_all([tournament, staff])
        for n in range(captains):
            user = User(email=f"c{n}@bench.example", display_name=f"c{n}")
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.commit()
        settings = {"capacity": captains, "fee": {"amount": "100"}, "methods": [{"name": "bkash", "instructions": "x"}]}
        settings_save.save_settings(tournament.id, settings, staff.id)
        for n in range(captains):
            user_id = db.session.scalar(db.select(User.id).where(User.email == f"c{n}@bench.example"))
            entries.register(tournament.id, user_id, f"Team {n}", None)
        db.session.remove()
        db.engine.dispose()


def start_gunicorn(port: int, env: dict[str, str]) -> subprocess.Popen:
    gunicorn = VENV_BIN / "gunicorn"
    command = str(gunicorn) if gunicorn.exists() else shutil.which("gunicorn")
    if not command:
        sys.exit("gunicorn is not installed: pip install -e '.[prod]'")
    process = subprocess.Popen(
        [command, "-w", "1", "--threads", "4", "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
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


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


class Captain:
    """One logged-in captain, cookies kept by hand: production cookies are Secure, and a client
    talking plain http to 127.0.0.1 would not send them back."""

    def __init__(self, base: str, n: int) -> None:
        import requests

        self.base, self.http, self.cookies = base, requests.Session(), {}
        self.http.trust_env = False
        token = self._token(self.get("/login").text)
        self.post("/login", {"email": f"c{n}@bench.example", "password": PASSWORD, "csrf_token": token})
        page = self.get("/account/registrations").text
        self.entry_id = int(re.search(r"/account/registrations/(\d+)", page).group(1))
        self.csrf = self._token(page)

    @staticmethod
    def _token(html: str) -> str:
        found = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
            r'name="csrf_token" type="hidden" value="([^"]+)"', html
        )
        return found.group(1)

    def _keep(self, response):
        self.cookies.update({c.name: c.value for c in response.cookies})
        return response

    def _headers(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def get(self, path: str):
        return self._keep(self.http.get(self.base + path, headers=self._headers(), allow_redirects=False))

    def post(self, path: str, data: dict, files: dict | None = None):
        return self._keep(
            self.http.post(self.base + path, data=data, files=files, headers=self._headers(), allow_redirects=False)
        )

    def send_proof(self, image: bytes):
        data = {
            "csrf_token": self.csrf,
            "method": "bkash",
            "transaction_id": f"TX{secrets.token_hex(4)}",
            "amount": "100",
        }
        return self.post(f"/account/registrations/{self.entry_id}/proof", data, {"screenshot": ("s.png", image)})


@dataclass
class Measured:
    label: str
    size_kb: int
    status: int
    idle_mb: float
    peak_mb: float

    @property
    def cost_mb(self) -> float:
        return self.peak_mb - self.idle_mb


def measure(base: str, worker: int, captain: Captain, label: str, image: bytes) -> Measured:
    Path(f"/proc/{worker}/clear_refs").write_text("5")  # reset the peak RSS to the current RSS
    idle = status_kb(worker, "VmRSS") / 1024
    status = captain.send_proof(image).status_code
    time.sleep(0.2)
    return Measured(label, len(image) // 1024, status, idle, status_kb(worker, "VmHWM") / 1024)


def run(database_url: str | None, budget: float) -> list[Measured]:
    workdir = tempfile.mkdtemp(prefix="proof-bench-")
    schema = None
    admin = None
    if database_url and database_url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        schema = f"proof_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(database_url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    if schema:
        url = f"{database_url}{'&' if '?' in database_url else '?'}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{os.path.join(workdir, 'bench.sqlite3')}"
    pictures = images()
    process = None
    try:
        prepare(url, len(pictures))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": secrets.token_hex(32),
            "FLASK_DEBUG": "0",
            "PUBLIC_BASE_URL": base,
            "ALLOWED_HOSTS": "127.0.0.1",
            "RATELIMIT_STORAGE_URI": "memory://",
        }
        process = start_gunicorn(port, env)
        [worker] = worker_pids(process.pid)
        results = []
        for n, (label, image, accepted) in enumerate(pictures):
            captain = Captain(base, n)
            result = measure(base, worker, captain, label, image)
            expected = 302 if accepted else 400
            if result.status != expected:
                sys.exit(f"{label}: answered {result.status}, expected {expected}")
            results.append(result)
        return results
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--budget", type=float, default=100.0, help="MB above idle allowed per accepted upload")
    args = parser.parse_args()
    results = run(args.database_url, args.budget)
    print(f"{'image':40} {'file':>8} {'status':>6} {'idle RSS':>9} {'peak RSS':>9} {'cost':>8}")
    for r in results:
        print(
            f"{r.label:40} {r.size_kb:>6}KB {r.status:>6} {r.idle_mb:>7.0f}MB {r.peak_mb:>7.0f}MB {r.cost_mb:>6.1f}MB"
        )
    worst = max(r.cost_mb for r in results)
    print(f"worst upload: {worst:.1f} MB above idle (budget {args.budget:.0f} MB)")
    if worst > args.budget:
        sys.exit(1)


if __name__ == "__main__":
    main()
