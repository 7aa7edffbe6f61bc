"""Bounded waits: a hung PostgreSQL or Redis (accepts, never answers) costs a request a few
seconds and ends in the site's 503 page (or a working log-in), never gunicorn's timeout."""

from __future__ import annotations

import os
import socket
import time
import uuid

import click
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app import create_app
from app.database import engine_options
from app.extensions import db
from app.security import CSP_DENY_FRAMING
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, create_user, csrf_token_from
from tests.production_helpers import hung_listener

ON_POSTGRES = (os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL") or "").startswith("postgresql")


def _hung_database_app(port: int, **overrides):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://deltacrown@127.0.0.1:{port}/deltacrown",
            "DB_CONNECT_TIMEOUT": 1,
            **overrides,
        }
    )


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/", "/tournaments/spring-cup/", "/healthz", "/readyz", "/embed/spring-cup"])
def test_hung_database_answers_the_site_503_within_seconds(path):
    with hung_listener() as port:
        app = _hung_database_app(port)
        started = time.monotonic()
        response = app.test_client().get(path)
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert elapsed < 4, f"{path} took {elapsed:.1f} s"
    if path not in ("/healthz", "/readyz", "/embed/spring-cup"):
        assert response.headers["Retry-After"].isdigit()
        assert response.headers["Content-Security-Policy"] == CSP_DENY_FRAMING
        assert "Temporarily unavailable" in response.get_data(as_text=True)


def test_hung_database_gives_api_clients_a_json_503():
    with hung_listener() as port:
        app = _hung_database_app(port)
        started = time.monotonic()
        response = app.test_client().get("/api/tournaments/spring-cup/leaderboard/")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.is_json and "error" in response.get_json()
    assert response.headers["Retry-After"].isdigit()
    assert elapsed < 4


def test_web_processes_bound_statements_and_commands_get_longer():
    app = _hung_database_app(5432, DB_STATEMENT_TIMEOUT=5, DB_CLI_STATEMENT_TIMEOUT=600, DB_CONNECT_TIMEOUT=3)
    web = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert web["connect_args"]["connect_timeout"] == 3
    assert web["pool_timeout"] == 3
    assert "-c statement_timeout=5000" in web["connect_args"]["options"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {}
    with click.Context(click.Command("worker")):
        command = engine_options(app)
    assert "-c statement_timeout=600000" in command["connect_args"]["options"]


def test_timeouts_keep_the_options_the_configuration_already_has():
    app = _hung_database_app(5432, SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"options": "-csearch_path=elsewhere"}})
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"]
    assert options.startswith("-csearch_path=elsewhere ") and "statement_timeout=5000" in options


def test_timeout_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT", "2.5")
    monkeypatch.setenv("DB_CONNECT_TIMEOUT", "2")
    app = _hung_database_app(5432)
    del app.config["DB_CONNECT_TIMEOUT"]  # the override above wins over the environment
    assert app.config["DB_STATEMENT_TIMEOUT"] == 2.5
    assert "-c statement_timeout=2500" in app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"]


@pytest.mark.skipif(not ON_POSTGRES, reason="the statement timeout is enforced by a PostgreSQL server")
def test_a_slow_statement_is_cancelled_by_the_server(make_app):
    app = make_app(create_schema=False, DB_STATEMENT_TIMEOUT=0.3)
    with app.app_context():
        started = time.monotonic()
        with pytest.raises(OperationalError, match="statement timeout"):
            db.session.execute(text("SELECT pg_sleep(3)"))
        assert time.monotonic() - started < 2
        db.session.rollback()
        assert db.session.execute(text("SHOW statement_timeout")).scalar() == "300ms"


def _login(client, password=STAFF_PASSWORD):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": STAFF_EMAIL, "password": password, "csrf_token": token})


def test_hung_redis_keeps_log_in_working_and_limited_in_memory(make_app, caplog):
    with hung_listener() as port:
        app = make_app(
            RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}/0",
            RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
            LOGIN_LIMIT_PER_ACCOUNT="2 per 15 minutes",
            REDIS_TIMEOUT=0.3,
        )
        create_user(app, STAFF_EMAIL, STAFF_PASSWORD, staff=True)
        started = time.monotonic()
        assert _login(app.test_client()).status_code == 302
        assert time.monotonic() - started < 2
        client = app.test_client()
        assert _login(client, password="wrong password").status_code == 401
        assert _login(client, password="wrong password").status_code == 401
        assert _login(client).status_code == 429  # the limit still holds, counted in this process
        assert time.monotonic() - started < 4
    assert "unreachable" in caplog.text


def test_server_options_given_in_the_url_are_kept():
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@127.0.0.1:1/x?options=-csearch_path%3Dcluster_a",
        }
    )
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"]
    assert options == "-csearch_path=cluster_a -c statement_timeout=5000"


def test_readiness_reports_a_hung_redis_within_a_second_while_liveness_stays_up(make_app):
    with hung_listener() as port:
        app = make_app(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}/0", REDIS_TIMEOUT=0.3)
        client = app.test_client()
        started = time.monotonic()
        ready = client.get("/readyz")
        assert time.monotonic() - started < 1.5
        assert client.get("/healthz").status_code == 200
    assert ready.status_code == 503
    assert ready.get_json() == {"status": "error", "database": "ok", "redis": "unavailable"}
    assert ready.headers["Cache-Control"] == "no-store"


def test_readiness_is_ok_with_the_database_and_redis_up(make_app):
    # Skipped only when nothing listens on Redis's port: an answer of "unavailable" from a Redis
    # that is up is the bug this test is for.
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    app = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0", RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}")
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}
