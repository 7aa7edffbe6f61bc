"""Test fixtures in the flaskr shape: `app`, `client`, `runner`, and `auth` for staff login.

Every test gets a database of its own: a fresh SQLite file, or, when DATABASE_URL names a
PostgreSQL server, a fresh schema that is dropped afterwards. Tests can therefore commit, use
several connections (the concurrency tests do) and run again and again on the same server.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from app.config import DEFAULTS
from app.extensions import db
from app.models import User

STAFF_EMAIL = "staff@example.com"
STAFF_PASSWORD = "correct horse battery staple"
PLAYER_EMAIL = "player@example.com"
PLAYER_PASSWORD = "player password 123"

# The contract's examples, kept in the repository (docs/examples) so a clean clone tests them too.
EXAMPLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "examples")


# Read once, before the hermetic fixture below clears DATABASE_URL for each test.
_TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")

# Environment variables that change what an app built by a test sees: every setting
# (app/config.py) and Flask's own switches.
_APP_ENVIRONMENT = (*DEFAULTS, "FLASK_DEBUG", "FLASK_ENV", "FLASK_APP")


def _database_url() -> str | None:
    url = _TEST_DATABASE_URL
    return url if url and url.startswith("postgresql") else None


@pytest.fixture(autouse=True)
def _hermetic_environment(monkeypatch, tmp_path):
    """Tests see only the settings they set: a developer's exported variables and their `.env`
    (which `make run` writes, and which a production-mode app loads into os.environ) must not
    leak into a test or from one test into the next."""
    saved = dict(os.environ)
    for name in _APP_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    # A production-mode app looks for .env from the working directory upwards: start where none is.
    monkeypatch.chdir(tmp_path)
    yield
    # load_dotenv writes straight into os.environ, behind monkeypatch's back.
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def database_config(tmp_path):
    """Settings pointing at an empty, private database."""
    url = _database_url()
    if url is None:
        yield {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite3'}"}
        return
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield {
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={schema}"}},
        }
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def make_app(database_config):
    """Build an app on the test database; `create_schema=False` leaves it empty."""
    made = []

    def _make(create_schema: bool = True, **overrides):
        config = {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "MAIL_SUPPRESS_SEND": True,
            **database_config,
            **overrides,
        }
        application = create_app(config)
        if create_schema:
            with application.app_context():
                db.create_all()
        made.append(application)
        return application

    yield _make
    for application in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def create_user(app, email: str, password: str, *, staff: bool = False, admin: bool = False) -> int:
    with app.app_context():
        user = User(email=email, display_name=email.split("@")[0], is_staff=staff, is_admin=admin)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user.id


@pytest.fixture
def staff_user(app) -> int:
    return create_user(app, STAFF_EMAIL, STAFF_PASSWORD, staff=True)


@pytest.fixture
def player_user(app) -> int:
    return create_user(app, PLAYER_EMAIL, PLAYER_PASSWORD)


_CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
_CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = _CSRF_META.search(html) or _CSRF_INPUT.search(html)
    assert match, "page carries no CSRF token"
    return next(g for g in match.groups() if g)


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email: str = STAFF_EMAIL, password: str = STAFF_PASSWORD):
        page = self._client.get("/login")
        token = csrf_token_from(page.get_data(as_text=True))
        return self._client.post("/login", data={"email": email, "password": password, "csrf_token": token})

    def logout(self):
        page = self._client.get("/staff/")
        token = csrf_token_from(page.get_data(as_text=True))
        return self._client.post("/logout", data={"csrf_token": token})

    def csrf_token(self) -> str:
        """A CSRF token for the logged-in session, read off a page as a browser would."""
        return csrf_token_from(self._client.get("/staff/").get_data(as_text=True))


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def examples_dir() -> str:
    return EXAMPLES_DIR
