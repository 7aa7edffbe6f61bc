"""The whole production topology (deploy/cluster.py: nginx, two app instances, two delivery
workers, PostgreSQL, Redis), started once for the tests in this folder.

It needs nginx (installed here with apt-get when missing, as `make cluster` does), a PostgreSQL
server (DATABASE_URL / TEST_DATABASE_URL when it names one, else the local test server) and
Redis on 127.0.0.1:6379. The cluster gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


def _nginx() -> str | None:
    found = shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx") or None
    if found is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "nginx"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=600,
            check=False,
        )
        found = shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx") or None
    return found


class Cluster:
    def __init__(self, run_dir: Path, database_url: str) -> None:
        self.run_dir = run_dir
        self.database_url = database_url

    def state(self) -> dict:
        return json.loads((self.run_dir / "cluster.json").read_text())

    @property
    def base(self) -> str:
        return self.state()["base_url"]

    def instance(self, n: int) -> str:
        return f"http://127.0.0.1:{self.state()['app_ports'][n]}"

    def pid(self, name: str) -> int:
        return self.state()["pids"][name]

    def starts(self, name: str) -> int:
        return self.state()["starts"][name]

    def nginx_log(self, uri: str, count: int, timeout: float = 5.0) -> list[dict[str, str]]:
        """nginx's access-log lines for `uri` (deploy/cluster.py's `upstream` format: time,
        status, cache status, URI, upstream address, "-" when no app instance was asked), once
        at least `count` are written (nginx flushes its log buffer every second), in the order
        they were answered (each nginx worker has its own buffer: the file is not in order)."""
        path = self.run_dir / "logs" / "access.log"
        deadline = time.monotonic() + timeout
        while True:
            lines = []
            if path.exists():
                for line in path.read_text(errors="replace").splitlines():
                    found = _LOG_LINE.match(line)
                    if found and found["uri"] == uri:
                        lines.append(found.groupdict())
            if len(lines) >= count or time.monotonic() > deadline:
                return sorted(lines, key=lambda line: float(line["time"]))
            time.sleep(0.2)


_LOG_LINE = re.compile(r'(?P<time>[\d.]+) (?P<status>\d+) (?P<cache>\S+) "(?P<uri>[^"]*)" "(?P<upstream>[^"]*)"')


# Settings the topology's processes get for the tests: short leases, so a killed delivery
# worker's deliveries are taken over within seconds (production: 60 s), room for 16 deliveries
# in flight per endpoint across both workers, and the keys that open endpoint secrets, shared
# with the tests that add endpoints.
WORKER_SETTINGS = {
    "WORKER_LEASE_SECONDS": "3",
    "WORKER_POLL_INTERVAL": "0.2",
    "WORKER_PER_ENDPOINT": "16",
    "WEBHOOK_RETRY_DELAYS": "1",
    "WEBHOOK_SECRET_KEYS": Fernet.generate_key().decode(),
}


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    if _nginx() is None:
        pytest.skip("nginx is not installed and `apt-get install nginx` did not install it")
    candidates = (os.environ.get("TEST_DATABASE_URL"), os.environ.get("DATABASE_URL"))
    url = next((u for u in candidates if u and u.startswith("postgresql")), DEFAULT_PG)
    if not _reachable("127.0.0.1", 6379):
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    schema = f"cluster_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # no server: the topology cannot run at all
        pytest.skip(f"PostgreSQL is not reachable at {url}: {exc}")
    database_url = f"{url}?options=-csearch_path%3D{schema}"
    run_dir = tmp_path_factory.mktemp("cluster")
    ports = [_free_port() for _ in range(3)]
    log = open(run_dir / "supervisor.log", "wb")  # noqa: SIM115 (kept open for the child)
    supervisor = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "deploy" / "cluster.py"),
            "--port",
            str(ports[0]),
            "--app-ports",
            f"{ports[1]},{ports[2]}",
            "--app-workers",
            "2",
            "--run-dir",
            str(run_dir),
            "--database-url",
            database_url,
            # The nginx tests count which requests reached an app instance.
            "--access-log",
        ],
        cwd=ROOT,
        env={**os.environ, **WORKER_SETTINGS},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    handle = Cluster(run_dir, database_url)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if supervisor.poll() is not None:
                break
            try:
                if handle.state()["ready"]:
                    break
            except (FileNotFoundError, json.JSONDecodeError):
                pass
            time.sleep(0.3)
        if supervisor.poll() is not None or not handle.state()["ready"]:
            logs = "\n".join(
                f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in sorted(run_dir.rglob("*.log"))
            )
            pytest.fail(f"the cluster did not start:\n{logs}")
        yield handle
    finally:
        supervisor.send_signal(signal.SIGTERM)
        try:
            supervisor.wait(timeout=30)
        except subprocess.TimeoutExpired:
            supervisor.kill()
        log.close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
