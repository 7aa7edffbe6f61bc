"""How the app connects to its database: every wait is bounded.

Rule: a web request never waits on PostgreSQL for longer than `DB_CONNECT_TIMEOUT` to get a
connection (libpq's connect timeout, and the same bound on waiting for a pooled one) plus
`DB_STATEMENT_TIMEOUT` per statement (enforced by the server). When either runs out the
driver raises an OperationalError, which `app.http_errors` turns into the site's 503 page with
`Retry-After`: a hung database costs a viewer a few seconds, and never holds a gunicorn worker
until gunicorn's own timeout kills it with a bare 500.

`flask` commands (file imports, the delivery worker, migrations) use `DB_CLI_STATEMENT_TIMEOUT`
instead: a big import or a migration legitimately runs longer than any page should.

The statement timeout is the SERVER's: a server that is frozen (a stopped VM, a full disk, a
network path that drops everything after the connection was made) never enforces it. So the
client bounds every wait for an answer too: each blocking operation on a connection (a
statement, fetching rows, commit, rollback) gets the statement timeout plus
`ANSWER_GRACE_SECONDS` (the server, when alive, cancels first and the connection stays usable);
past that the connection is closed and the driver raises an OperationalError, so the pool
drops it and the page is the same 503. With a statement timeout of 0 there is no client bound.

SQLite (development, tests) waits up to 30 s for another writer's lock instead of failing with
"database is locked"; it has no server that could hang.
"""

from __future__ import annotations

import functools
from typing import Any

import click
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

# Seconds the client waits past the statement timeout before it gives up on the server.
ANSWER_GRACE_SECONDS = 1.0
# The connect argument that carries the bound to `_connect` (never passed on to libpq).
_ANSWER_TIMEOUT = "deltacrown_answer_timeout"


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
        if statement_ms > 0:
            connect_args.setdefault(_ANSWER_TIMEOUT, statement_ms / 1000 + ANSWER_GRACE_SECONDS)
    options["connect_args"] = connect_args
    return options


@functools.cache
def _answer_bounded_connection_class() -> type:
    """A psycopg connection whose every wait for the server is bounded (see the module's rule).

    psycopg 3 funnels every blocking operation through `Connection.wait`, which accepts a
    timeout; giving it one there covers statements, fetches, commits and rollbacks alike."""
    import psycopg
    from psycopg import errors

    class AnswerBoundedConnection(psycopg.Connection):
        answer_timeout: float | None = None

        def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
            bound = timeout if timeout is not None else self.answer_timeout
            try:
                return super().wait(gen, interval=interval, timeout=bound)
            except errors._WaitTimeout:
                # Half-way through a protocol exchange: the connection cannot be used again.
                self.pgconn.finish()
                raise psycopg.OperationalError(
                    f"the database server did not answer within {bound:g} s; connection closed"
                ) from None

    return AnswerBoundedConnection


@event.listens_for(Engine, "do_connect")
def _connect(dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
    """Open connections that carry the answer bound as AnswerBoundedConnection (PostgreSQL)."""
    answer_timeout = cparams.pop(_ANSWER_TIMEOUT, None)
    if answer_timeout is None or dialect.driver != "psycopg":
        return None  # SQLAlchemy connects as usual
    connection = _answer_bounded_connection_class().connect(*cargs, **cparams)
    connection.answer_timeout = float(answer_timeout)
    return connection
