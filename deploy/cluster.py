"""Run the production topology on this machine: `make cluster` (or `python deploy/cluster.py`).

nginx (deploy/nginx/deltacrown.conf.template, with its 1-second micro-cache) in front of two
app instances (gunicorn with deploy/gunicorn.conf.py, the systemd unit's settings, on separate
ports and with --app-workers each), two delivery workers
(`flask worker`), one PostgreSQL database and Redis for the shared log-in limits. Like the
systemd units (`Restart=always`), a process that exits is started again; Ctrl+C (or SIGTERM)
stops everything. The ports and process ids are written to `<run dir>/cluster.json`, which the
topology test (tests/cluster/) reads to kill and restart instances.

Everything is loopback-only. nginx runs unprivileged from the run directory (no system config
is touched).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import string
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx" / "deltacrown.conf.template"
# gunicorn's settings, shared with the systemd unit (deploy/systemd/deltacrown-web@.service).
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
BIN = Path(sys.executable).parent

NGINX_MAIN = """\
{user}worker_processes 2;
worker_rlimit_nofile 40000;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
events {{ worker_connections 16384; }}
http {{
    client_body_temp_path {run}/tmp/body;
    proxy_temp_path {run}/tmp/proxy;
    fastcgi_temp_path {run}/tmp/fastcgi;
    uwsgi_temp_path {run}/tmp/uwsgi;
    scgi_temp_path {run}/tmp/scgi;
    log_format upstream '$msec $status $upstream_cache_status "$request_uri" "$upstream_addr"';
    access_log {access_log};
    include {site};
}}
"""


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    restart: bool = True
    process: subprocess.Popen | None = None
    log: Path | None = None
    started: list[float] = field(default_factory=list)

    def start(self) -> None:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 (the child owns it)
        # A session (process group) of its own: stopping an instance stops its gunicorn workers too.
        self.process = subprocess.Popen(
            self.argv, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append(time.time())

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)


def gunicorn_argv(port: int, workers: int) -> list[str]:
    """One app instance: the systemd unit's gunicorn settings (deploy/gunicorn.conf.py), with
    only what differs per instance here given on the command line (which gunicorn applies last):
    its port, and its worker count, since several instances share this machine's cores."""
    return [str(BIN / "gunicorn"), "-c", str(GUNICORN_CONF), "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]


def render_site(*, listen: str, server_name: str, cache_dir: str, app_ports: list[int]) -> str:
    # max_fails=0: nginx never benches an instance. A restarted instance is back the moment it
    # listens; benched for fail_timeout, it left no live upstream while the next one restarted
    # (a 502 in a rolling restart). A refused connection costs nothing, and a silent one is
    # bounded by proxy_connect_timeout before the other instance is tried.
    servers = "\n    ".join(f"server 127.0.0.1:{port} max_fails=0;" for port in app_ports)
    return string.Template(TEMPLATE.read_text()).safe_substitute(
        LISTEN=listen, SERVER_NAME=server_name, CACHE_DIR=cache_dir, APP_SERVERS=servers
    )


def write_nginx_config(run: Path, port: int, app_ports: list[int], *, access_log: bool = False) -> Path:
    """nginx's main config and the rendered site in the run directory; returns the main config
    (tests/deploy/test_deploy_config.py checks it with `nginx -t`)."""
    for sub in ("tmp", "cache", "logs"):
        (run / sub).mkdir(parents=True, exist_ok=True)
    site = run / "deltacrown-site.conf"
    site.write_text(
        render_site(
            listen=f"127.0.0.1:{port}",
            server_name="127.0.0.1 localhost",
            cache_dir=str(run / "cache"),
            app_ports=app_ports,
        )
    )
    log = f"{run}/logs/access.log upstream buffer=256k flush=1s" if access_log else "off"
    # Started by root, nginx's workers would drop to `nobody`, who cannot write the run directory.
    user = "user root;\n" if os.geteuid() == 0 else ""
    main_config = run / "nginx.conf"
    main_config.write_text(NGINX_MAIN.format(user=user, run=run, site=site, access_log=log))
    return main_config


def wait_ready(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8080, help="nginx port (default 8080)")
    parser.add_argument("--app-ports", default="8001,8002", help="app instance ports (default 8001,8002)")
    parser.add_argument(
        "--app-workers",
        type=int,
        default=3,
        help="gunicorn workers per instance (default 3: the instances share this machine; "
        "deploy/gunicorn.conf.py's 4 is for a host of its own)",
    )
    parser.add_argument("--workers", type=int, default=2, help="delivery workers (default 2)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "CLUSTER_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/deltacrown_cluster"
        ),
    )
    parser.add_argument("--redis-url", default=os.environ.get("CLUSTER_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--run-dir", default=str(ROOT / ".cluster"))
    parser.add_argument("--access-log", action="store_true", help="log every request nginx answers (bench)")
    parser.add_argument("--demo", action="store_true", help="load the demo tournaments after migrating")
    args = parser.parse_args(argv)

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        print("nginx is not installed: `make cluster` installs it (apt-get install -y nginx)", file=sys.stderr)
        return 2
    run = Path(args.run_dir).resolve()
    for sub in ("tmp", "cache", "logs"):
        (run / sub).mkdir(parents=True, exist_ok=True)
    app_ports = [int(p) for p in args.app_ports.split(",")]
    secret_file = run / "secret_key"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_hex(32))
        secret_file.chmod(0o600)
    base_url = f"http://127.0.0.1:{args.port}"
    env = {
        **os.environ,
        "SECRET_KEY": secret_file.read_text().strip(),
        "DATABASE_URL": args.database_url,
        "RATELIMIT_STORAGE_URI": args.redis_url,
        "RATELIMIT_KEY_PREFIX": f"-cluster-{args.port}",
        "PUBLIC_BASE_URL": base_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "TRUSTED_PROXY_COUNT": "1",
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("FLASK_DEBUG", None)
    flask = [str(BIN / "flask"), "--app", "wsgi"]

    _ensure_database(args.database_url)
    # Migrations before rollout: the schema is upgraded once, before any instance starts.
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    if args.demo:
        subprocess.run([*flask, "demo"], env=env, cwd=ROOT, check=False)

    write_nginx_config(run, args.port, app_ports, access_log=args.access_log)

    children: list[Child] = []
    for n, port in enumerate(app_ports, 1):
        argv_web = gunicorn_argv(port, args.app_workers)
        children.append(Child(f"web-{n}", argv_web, env, log=run / "logs" / f"web-{n}.log"))
    for n in range(1, args.workers + 1):
        children.append(
            Child(
                f"worker-{n}",
                [*flask, "worker", "--name", f"cluster-worker-{n}"],
                env,
                log=run / "logs" / f"worker-{n}.log",
            )
        )
    nginx_child = Child(
        "nginx",
        [nginx, "-p", str(run), "-c", str(run / "nginx.conf"), "-g", "daemon off;"],
        env,
        log=run / "logs" / "nginx.log",
    )
    children.append(nginx_child)

    stopping = False

    def _stop(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    for child in children:
        child.start()

    def write_state(ready: bool) -> None:
        state = {
            "ready": ready,
            "nginx_port": args.port,
            "app_ports": app_ports,
            "base_url": base_url,
            "pids": {c.name: c.process.pid for c in children if c.process},
            "starts": {c.name: len(c.started) for c in children},
        }
        tmp = run / "cluster.json.tmp"
        tmp.write_text(json.dumps(state))
        tmp.replace(run / "cluster.json")

    write_state(False)
    ready = all(wait_ready(f"http://127.0.0.1:{port}/readyz", 60) for port in app_ports) and wait_ready(
        f"{base_url}/healthz", 20
    )
    write_state(ready)
    if not ready:
        print(f"cluster did not become ready; logs in {run}/logs", file=sys.stderr)
        stopping = True
    else:
        print(f"DeltaCrown cluster: {base_url}/  (instances on {', '.join(map(str, app_ports))}; Ctrl+C stops)")

    while not stopping:
        time.sleep(0.2)
        for child in children:
            if child.restart and child.process and child.process.poll() is not None and not stopping:
                child.start()  # like systemd's Restart=always
                write_state(True)

    for child in reversed(children):
        child.stop()
    deadline = time.monotonic() + 15
    for child in children:
        if child.process:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.stop(signal.SIGKILL)
    return 0


def _ensure_database(url: str) -> None:
    """Create the cluster's database on first use (the server's `postgres` database is used to
    ask); a URL naming an existing database, or a schema in its options, is used as it is."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    if not target.drivername.startswith("postgresql") or not target.database:
        return
    admin = create_engine(target.set(database="postgres", query={}), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
            options = target.query.get("options") or ""
            if "search_path=" in str(options):
                schema = str(options).split("search_path=", 1)[1].split()[0]
                db_engine = create_engine(target.set(query={}))
                with db_engine.begin() as db_conn:
                    db_conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                db_engine.dispose()
    finally:
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
