"""How the app connects to its database: every wait is bounded.

Rule: a web request never waits on PostgreSQL for longer than `DB_CONNECT_TIMEOUT` to get a
connection (libpq's connect timeout, and the same bound on waiting for a pooled one) plus
`DB_STATEMENT_TIMEOUT` per statement (enforced by the server). When either runs out the
driver raises an OperationalError, which `app.http_errors` turns into the site's 503 page with
`Retry-After`: a hung database costs a viewer a few seconds, and never holds a gunicorn worker
until gunicorn's own timeout kills it with a bare 500.

`flask` commands (file imports, the delivery worker, migrations) use `DB_CLI_STATEMENT_TIMEOUT`
instead: a big import or a migration legitimately runs longer than any page should.

SQLite (development, tests) waits up to 30 s for another writer's lock instead of failing with
"database is locked"; it has no server that could hang.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Flask
from sqlalchemy.engine import make_url


def running_a_command() -> bool:
    """True inside a `flask ...` command (the app is being built by the Flask CLI)."""
    return click.get_current_context(silent=True) is not None


def engine_options(app: Flask) -> dict[str, Any]:
    """SQLALCHEMY_ENGINE_OPTIONS for the configured database, with the bounded waits added to
    whatever options the configuration already carries (tests add a search_path)."""
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    uri = str(app.config["SQLALCHEMY_DATABASE_URI"])
    if uri.startswith("sqlite"):
        connect_args.setdefault("timeout", 30)
    elif uri.startswith("postgresql"):
        connect_timeout = max(1, int(app.config["DB_CONNECT_TIMEOUT"]))
        connect_args.setdefault("connect_timeout", connect_timeout)
        options.setdefault("pool_timeout", connect_timeout)
        key = "DB_CLI_STATEMENT_TIMEOUT" if running_a_command() else "DB_STATEMENT_TIMEOUT"
        statement_ms = int(float(app.config[key]) * 1000)
        # Options may come in the URL (`?options=-csearch_path%3Dx`) too; connect_args would
        # replace them, so both are kept.
        url_options = make_url(uri).query.get("options") or ""
        if isinstance(url_options, tuple):
            url_options = " ".join(url_options)
        server_options = " ".join(p for p in (url_options, str(connect_args.get("options") or "")) if p)
        if "statement_timeout" not in server_options:
            connect_args["options"] = f"{server_options} -c statement_timeout={statement_ms}".strip()
    options["connect_args"] = connect_args
    return options
