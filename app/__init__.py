"""DeltaCrown Leaderboards: the application factory."""

from __future__ import annotations

import os
from typing import Any

from dotenv import find_dotenv, load_dotenv
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from app import config as config_module
from app.database import engine_options
from app.extensions import csrf, db, htmx, login_manager, mail, migrate
from app.hosts import init_app as init_hosts
from app.routing import init_app as init_routing


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build an app. Settings come from `app.config.DEFAULTS`, then the environment (a `.env`
    file in the working directory is read first), then `config`."""
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)

    if not (config or {}).get("TESTING"):
        # Tests stay hermetic: a developer's .env must not change what they see.
        load_dotenv(find_dotenv(usecwd=True), override=False)
    app.config.from_mapping(config_module.DEFAULTS)
    app.config.from_mapping(config_module.from_environment())
    if config:
        app.config.from_mapping(config)

    database_url = app.config.get("DATABASE_URL") or "sqlite:///" + os.path.join(
        app.instance_path, "deltacrown.sqlite3"
    )
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", database_url)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app)
    config_module.check_production_config(app.config)
    config_module.force_production_cookies(app.config)
    proxies = config_module.trusted_proxy_hops(app.config)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    # Keep fields in the order services build them (the contract's order), not alphabetical.
    app.json.sort_keys = False

    init_hosts(app)  # first: an unknown Host is refused before anything else runs
    init_routing(app)  # converters, before any blueprint's routes are added
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    mail.init_app(app)
    htmx.init_app(app)

    from app import auth, cli, http_errors, models, notifications  # noqa: F401  (models must be imported for migrations)
    from app.api import bp as api_bp
    from app.auth import bp as auth_bp
    from app.embed import bp as embed_bp
    from app.health import init_app as init_health
    from app.players import bp as players_bp
    from app.public import bp as public_bp
    from app.security import init_app as init_security
    from app.services.support import list_version, throttle  # noqa: F401  (list_version: its session hooks bump the list's version on every write)
    from app.staff import bp as staff_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(embed_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(players_bp)
    http_errors.init_app(app)
    init_security(app)
    throttle.init_app(app)
    auth.init_app(app)
    cli.init_app(app)
    notifications.init_app(app)

    init_health(app)

    return app


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys_on(dbapi_connection, _record) -> None:
    """SQLite ignores foreign keys (and so ON DELETE CASCADE) unless asked per connection."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
