"""A PostgreSQL that accepted the connection (startup and authentication done) and then stops
answering, idle or half-way through a statement: the client bounds the wait (app/database.py),
so a page is the site's 503 within a few seconds, not gunicorn's timeout."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app import create_app
from app.extensions import db
from tests.production_helpers import FreezingProxy

PG_URL = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL") or ""
if not PG_URL.startswith("postgresql"):
    PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET = (make_url(PG_URL).host or "127.0.0.1", make_url(PG_URL).port or 5432)


def _reachable() -> bool:
    try:
        socket.create_connection(TARGET, timeout=1).close()
    except OSError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _reachable(), reason="needs a PostgreSQL server")


@pytest.fixture
def proxy():
    p = FreezingProxy(TARGET)
    yield p
    p.close()


@pytest.fixture
def apps():
    made: list = []
    yield made
    for app in made:
        with app.app_context():
            db.engine.dispose()


def _app_through(proxy: FreezingProxy, apps: list, **overrides):
    url = make_url(PG_URL).set(host="127.0.0.1", port=proxy.port)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
            "DB_CONNECT_TIMEOUT": 1,
            "DB_STATEMENT_TIMEOUT": 1,
            **overrides,
        }
    )
    apps.append(app)
    return app


def _warm(app) -> None:
    """Open a connection through the proxy (startup and authentication pass) and pool it."""
    with app.app_context():
        assert db.session.execute(text("SELECT 1")).scalar() == 1
        db.session.remove()


@pytest.mark.slow
def test_a_server_that_goes_silent_after_the_startup_gets_the_site_503_within_seconds(proxy, apps):
    app = _app_through(proxy, apps)
    _warm(app)
    proxy.freeze()
    started = time.monotonic()
    response = app.test_client().get("/")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert "Temporarily unavailable" in response.get_data(as_text=True)
    # 1 s statement timeout + 1 s grace on the pooled connection (+ 1 s connect timeout for a
    # fresh one, if the pool tries again): never gunicorn's 30 s.
    assert elapsed < 4.5, f"took {elapsed:.1f} s"


@pytest.mark.slow
def test_a_server_that_goes_silent_mid_statement_is_given_up_on_and_the_connection_dropped(proxy, apps):
    app = _app_through(proxy, apps)
    _warm(app)
    with app.app_context():
        threading.Timer(0.2, proxy.freeze).start()
        started = time.monotonic()
        with pytest.raises(OperationalError, match="did not answer within 2 s"):
            db.session.execute(text("SELECT pg_sleep(0.5)"))
        elapsed = time.monotonic() - started
        assert 1.9 < elapsed < 3.5, f"took {elapsed:.1f} s"
        db.session.rollback()
        # The half-used connection was closed and invalidated, not handed to the next request.
        assert db.engine.pool.checkedout() == 0
    with app.app_context(), pytest.raises(OperationalError):
        db.session.execute(text("SELECT 1"))  # frozen: a new connection times out too, quickly


def test_a_live_server_still_cancels_a_slow_statement_itself_and_the_connection_stays_usable(proxy, apps):
    app = _app_through(proxy, apps)
    with app.app_context():
        started = time.monotonic()
        with pytest.raises(OperationalError, match="statement timeout"):
            db.session.execute(text("SELECT pg_sleep(3)"))
        assert time.monotonic() - started < 1.8  # the server's 1 s, before the client's 2 s
        db.session.rollback()
        assert db.session.execute(text("SELECT 2")).scalar() == 2


def test_commands_get_the_longer_bound(proxy, apps):
    from app.database import _ANSWER_TIMEOUT, engine_options

    app = _app_through(proxy, apps, DB_STATEMENT_TIMEOUT=5, DB_CLI_STATEMENT_TIMEOUT=600)
    assert engine_options(app)["connect_args"][_ANSWER_TIMEOUT] == 6.0
    without = _app_through(proxy, apps, DB_STATEMENT_TIMEOUT=0)
    assert _ANSWER_TIMEOUT not in engine_options(without)["connect_args"]  # 0: no bound at all
