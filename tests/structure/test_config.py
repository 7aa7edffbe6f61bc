"""Layered configuration and the refusal to run production on a published secret."""

from __future__ import annotations

import pytest

from app import create_app
from app.config import DEFAULT_SECRET_KEY, ConfigError, from_environment
from tests import ROOT


def test_defaults(app):
    assert app.config["NOTIFICATIONS_EMAIL_ENABLED"] is False
    assert app.config["NOTIFICATIONS_WEBHOOK_ENABLED"] is False
    assert app.config["WEBHOOK_MAX_RETRIES"] == 3
    assert app.config["WEBHOOK_RETRY_DELAYS"] == [1, 5, 25]
    assert app.config["WEBHOOK_DELIVERY_URL"] == ""


def test_environment_values_are_typed():
    env = {
        "NOTIFICATIONS_EMAIL_ENABLED": "true",
        "NOTIFICATIONS_WEBHOOK_ENABLED": "0",
        "WEBHOOK_MAX_RETRIES": "5",
        "WEBHOOK_RETRY_DELAYS": "2,10,60",
        "MAIL_PORT": "587",
    }
    assert from_environment(env) == {
        "NOTIFICATIONS_EMAIL_ENABLED": True,
        "NOTIFICATIONS_WEBHOOK_ENABLED": False,
        "WEBHOOK_MAX_RETRIES": 5,
        "WEBHOOK_RETRY_DELAYS": [2, 10, 60],
        "MAIL_PORT": 587,
    }
    assert from_environment({"WEBHOOK_RETRY_DELAYS": "[1, 5, 25]"})["WEBHOOK_RETRY_DELAYS"] == [1, 5, 25]


@pytest.mark.parametrize(
    ("name", "value"),
    [("NOTIFICATIONS_EMAIL_ENABLED", "maybe"), ("WEBHOOK_MAX_RETRIES", "three"), ("WEBHOOK_RETRY_DELAYS", "1,x")],
)
def test_malformed_environment_names_the_setting(name, value):
    with pytest.raises(ConfigError, match=name):
        from_environment({name: value})


def test_environment_beats_defaults_and_test_dict_beats_environment(monkeypatch, database_config):
    monkeypatch.setenv("WEBHOOK_MAX_RETRIES", "7")
    monkeypatch.setenv("WEBHOOK_DELIVERY_URL", "https://hooks.example.com/in")
    app = create_app({"TESTING": True, "WEBHOOK_MAX_RETRIES": 2, **database_config})
    assert app.config["WEBHOOK_MAX_RETRIES"] == 2
    assert app.config["WEBHOOK_DELIVERY_URL"] == "https://hooks.example.com/in"


def test_production_refuses_default_secret_key(monkeypatch, database_config):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({**database_config})
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"SECRET_KEY": DEFAULT_SECRET_KEY, **database_config})


def test_production_refuses_default_webhook_secret_when_webhooks_on(monkeypatch, database_config):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    config = {"SECRET_KEY": "a-real-secret-value", **database_config}
    assert create_app(config)  # webhooks off: the webhook secret is not needed
    # Portal endpoints sign with their own secrets: turning webhooks on needs no WEBHOOK_SECRET_KEY.
    assert create_app({**config, "NOTIFICATIONS_WEBHOOK_ENABLED": True})
    receiver = {**config, "NOTIFICATIONS_WEBHOOK_ENABLED": True, "WEBHOOK_DELIVERY_URL": "https://hooks.example/in"}
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET_KEY"):
        create_app(receiver)
    assert create_app({**receiver, "WEBHOOK_SECRET_KEY": "whsec_c2VjcmV0"})


@pytest.mark.slow
def test_a_config_error_is_one_line_without_a_traceback(tmp_path):
    import os
    import subprocess
    import sys

    root = ROOT
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "FLASK_DEBUG")}
    env.update(NOTIFICATIONS_WEBHOOK_ENABLED="maybe", DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}")
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    env["PYTHONPATH"] = root
    result = subprocess.run([flask, "--app", "wsgi", "routes"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Configuration error: NOTIFICATIONS_WEBHOOK_ENABLED: expected true/false, got 'maybe'"
    ]


def test_debug_mode_may_use_defaults(database_config):
    assert create_app({"DEBUG": True, **database_config}).config["SECRET_KEY"] == DEFAULT_SECRET_KEY


def test_developer_dotenv_and_environment_do_not_reach_tests(database_config):
    # The hermetic fixture (tests/conftest.py) runs each test outside the checkout and without the
    # developer's settings, so `make run` (which writes .env) followed by `make test` still passes.
    import os

    assert "SECRET_KEY" not in os.environ
    assert not os.path.exists(".env")
    app = create_app({"DEBUG": True, **database_config})
    assert app.config["SECRET_KEY"] == DEFAULT_SECRET_KEY


def test_healthz_reports_database_failure(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI="sqlite:////nonexistent-dir/forbidden/db.sqlite3", create_schema=False)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"


def test_dotenv_in_working_directory_is_read(monkeypatch, tmp_path, database_config):
    # set-then-delete makes monkeypatch restore the original state after load_dotenv wrote it
    monkeypatch.setenv("WEBHOOK_DELIVERY_URL", "placeholder")
    monkeypatch.delenv("WEBHOOK_DELIVERY_URL")
    (tmp_path / ".env").write_text("WEBHOOK_DELIVERY_URL=https://from-dotenv.example/hook\n")
    app = create_app({"DEBUG": True, **database_config})
    assert app.config["WEBHOOK_DELIVERY_URL"] == "https://from-dotenv.example/hook"


def test_wsgi_module_builds_the_app(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    import importlib

    import wsgi

    module = importlib.reload(wsgi)
    assert module.app.config["SECRET_KEY"] == "from-the-environment"
    assert module.app.config["SQLALCHEMY_DATABASE_URI"].endswith("x.sqlite3")


def test_sqlite_only_options_follow_the_uri_in_use(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    pg = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@db.invalid/x"})
    assert "timeout" not in pg.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}).get("connect_args", {})
    given = {"connect_args": {"check_same_thread": False}}
    lite = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SQLALCHEMY_ENGINE_OPTIONS": given})
    assert lite.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"timeout": 30, "check_same_thread": False}
    assert given == {"connect_args": {"check_same_thread": False}}  # the caller's dict is left alone


@pytest.mark.parametrize(("value", "expected"), [(-1, "0 or more"), ("two", "a whole number")])
def test_trusted_proxy_count_must_be_a_count(database_config, value, expected):
    """The proxy setting is read by the factory (app.config.trusted_proxy_hops): a value that is
    not a count stops the app with a message naming it, instead of trusting no proxy silently."""
    with pytest.raises(ConfigError, match=f"TRUSTED_PROXY_COUNT: expected {expected}"):
        create_app({**database_config, "TESTING": True, "TRUSTED_PROXY_COUNT": value})


def test_production_cookies_are_secure_whatever_the_settings_say(database_config):
    """Set by the factory from app.config.force_production_cookies, not by a blueprint."""
    from app.config import force_production_cookies

    settings = {"SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False}
    force_production_cookies(settings)
    assert settings["SESSION_COOKIE_SECURE"] is True and settings["REMEMBER_COOKIE_SECURE"] is True
    development = {"DEBUG": True, "SESSION_COOKIE_SECURE": False}
    force_production_cookies(development)
    assert development["SESSION_COOKIE_SECURE"] is False
