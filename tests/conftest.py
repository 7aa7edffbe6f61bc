"""Test fixtures in the flaskr shape: `app`, `client`, `runner`, and `auth` for staff login.

Every test gets a database of its own, without paying for a schema each time: the schema is built
once per test session (and per xdist worker) and each test starts from it empty.

- SQLite: a template file is built once; each test gets a copy of it (in /dev/shm where there is one).
- PostgreSQL (DATABASE_URL names one): each worker builds one schema; after each test every table
  is emptied and every sequence restarted, so ids start at 1 again as on a fresh database.

Tests may therefore commit, use several connections and threads (the concurrency tests do) and
run again and again on the same server. A test that needs a database with no tables at all (the
migrations) or that destroys its schema (the backup drill) asks for one with
`@pytest.mark.own_database`, and gets a fresh empty one as before.

Markers (pyproject.toml): `browser` and `cluster` are set here from the folder a test lives in
(tests/browser, tests/cluster); `slow` is set by hand on tests that start processes or servers.
`make check` runs the rest.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import uuid

import pytest
from flask import Flask
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from werkzeug import security
from werkzeug.routing import Rule

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


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes():
    """Users' passwords are hashed with scrypt, tuned to take ~70 ms: right for a server, and most
    of what a test that creates a user and logs in costs. Tests hash with one round of PBKDF2
    instead; `check_password_hash` reads the method from the stored hash, so every path that
    sets or checks a password (and the dummy hash that hides whether an account exists) still
    runs. Processes a test starts (the CLI, gunicorn) keep scrypt."""
    defaults = security.generate_password_hash.__defaults__
    security.generate_password_hash.__defaults__ = ("pbkdf2:sha256:1", *defaults[1:])
    yield
    security.generate_password_hash.__defaults__ = defaults


@pytest.fixture(scope="session", autouse=True)
def _url_builders_compiled_once():
    """Building an app compiles each URL rule into two Python functions (werkzeug's
    `Rule._compile_builder`): ~80 % of `create_app`, which nearly every test calls. The functions
    depend only on the rule's text and parts (they take the rule as an argument), so tests share
    them across apps. Rules with a default for one of their own variables are compiled as usual;
    if werkzeug's internals ever change shape, nothing is shared and nothing breaks."""
    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None:
        yield
        return
    built: dict = {}

    def shared(self, append_unknown=True):
        trace = tuple(getattr(self, "_trace", ()))
        defaults = self.defaults or {}
        if not trace or any(dynamic and part in defaults for dynamic, part in trace):
            return compile_builder(self, append_unknown)
        key = (self.rule, append_unknown, trace, tuple(sorted(defaults)))
        if key not in built:
            built[key] = compile_builder(self, append_unknown)
        return built[key]

    Rule._compile_builder = shared
    yield
    Rule._compile_builder = compile_builder


class _SharedTemplateCode(BytecodeCache):
    """Compiled templates kept in memory for every app of the test process (a Jinja bytecode
    cache keyed by template name and source checksum)."""

    def __init__(self) -> None:
        self._code: dict[str, tuple[str, object]] = {}

    def load_bytecode(self, bucket) -> None:
        found = self._code.get(bucket.key)
        if found is not None and found[0] == bucket.checksum:
            bucket.code = found[1]

    def dump_bytecode(self, bucket) -> None:
        self._code[bucket.key] = (bucket.checksum, bucket.code)


@pytest.fixture(scope="session", autouse=True)
def _templates_compiled_once():
    """Each app has its own Jinja environment, so each test compiled every template it rendered
    again; all apps of the suite are configured alike, so they share the compiled code."""
    create_environment = Flask.create_jinja_environment
    shared = _SharedTemplateCode()

    def with_shared_code(self):
        environment = create_environment(self)
        environment.bytecode_cache = shared
        return environment

    Flask.create_jinja_environment = with_shared_code
    yield
    Flask.create_jinja_environment = create_environment


@pytest.fixture(scope="session")
def _sqlite_directory(tmp_path_factory):
    """Where the tests' SQLite files live: in memory (/dev/shm) where the machine has it, since
    every commit of a file on disk waits for the disk (fsync), which most of the time a test spent
    in SQLite was; else the session's temporary folder."""
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK):
        folder = tempfile.mkdtemp(prefix=f"deltacrown-tests-{_worker_name()}-", dir=shm)
        yield folder
        shutil.rmtree(folder, ignore_errors=True)
    else:
        yield str(tmp_path_factory.mktemp("databases"))


def _worker_name() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _schema_engine(url: str, schema: str):
    return create_engine(url, connect_args={"options": f"-csearch_path={schema}"})


def _create_tables(engine) -> None:
    """The tables `db.create_all()` makes in an app: every model, including those of the modules
    only the app factory imports."""
    create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    db.metadata.create_all(engine)


@pytest.fixture(scope="session")
def _template_database(request):
    """The schema, built once: a SQLite file to copy, or a PostgreSQL schema of this worker."""
    url = _database_url()
    if url is None:
        path = os.path.join(request.getfixturevalue("_sqlite_directory"), "template.sqlite3")
        engine = create_engine(f"sqlite:///{path}")
        _create_tables(engine)
        engine.dispose()
        yield path
        return
    schema = f"test_{_worker_name()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = _schema_engine(url, schema)
    try:
        _create_tables(engine)
        with engine.connect() as conn:
            sequences = conn.scalars(
                text(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE c.relkind = 'S' AND n.nspname = :schema"
                ),
                {"schema": schema},
            ).all()
        yield _SharedSchema(url, schema, engine, sequences)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


class _SharedSchema:
    """One worker's PostgreSQL schema, emptied after each test that used it."""

    def __init__(self, url: str, schema: str, engine, sequences: list[str]) -> None:
        self.url = url
        self.schema = schema
        self.application_name = f"deltacrown-{schema}"[:63]
        self._engine = engine
        # What the schema holds once created (rows the DDL events insert, e.g. the list
        # version's row) is put back after each test, and each sequence where it was.
        with engine.connect() as conn:
            self._seeds = [
                (table, rows) for table in db.metadata.sorted_tables if (rows := conn.execute(table.select()).all())
            ]
            positions = [conn.execute(text(f'SELECT last_value, is_called FROM "{name}"')).one() for name in sequences]
        # Children before parents, so no foreign key is ever violated on the way.
        deletes = [f'DELETE FROM "{table.name}"' for table in reversed(db.metadata.sorted_tables)]
        restarts = ", ".join(
            f"setval('\"{name}\"', {last}, {'true' if called else 'false'})"
            for name, (last, called) in zip(sequences, positions, strict=True)
        )
        self._empty = "; ".join([*deletes, *([f"SELECT {restarts}"] if restarts else [])])

    def config(self) -> dict:
        return {
            "SQLALCHEMY_DATABASE_URI": self.url,
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "connect_args": {"options": f"-csearch_path={self.schema}", "application_name": self.application_name}
            },
        }

    def empty(self) -> None:
        """Back to the schema as created: every row a test wrote gone, every sequence restarted.
        A connection a test left open in a
        transaction (a thread still running, a failure half-way) could hold row locks the
        deletes wait for: after a few seconds such connections are ended and it goes again."""
        try:
            self._run(lock_timeout="5s")
        except OperationalError:
            with self._engine.begin() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE application_name = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": self.application_name},
                )
            self._run(lock_timeout="30s")

    def _run(self, lock_timeout: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(text(f"SET LOCAL lock_timeout = '{lock_timeout}'"))
            conn.exec_driver_sql(self._empty)
            for table, rows in self._seeds:
                conn.execute(table.insert(), [row._asdict() for row in rows])


@contextlib.contextmanager
def _own_database_config(tmp_path):
    """A fresh empty database: a new SQLite file, or a new PostgreSQL schema (dropped after)."""
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
def _database(request, tmp_path):
    """(settings, has_schema): this test's database and whether its tables already exist."""
    if request.node.get_closest_marker("own_database"):
        with _own_database_config(tmp_path) as config:
            yield config, False
        return
    template = request.getfixturevalue("_template_database")
    if isinstance(template, _SharedSchema):
        try:
            yield template.config(), True
        finally:
            template.empty()
        return
    path = os.path.join(request.getfixturevalue("_sqlite_directory"), f"{uuid.uuid4().hex}.sqlite3")
    shutil.copyfile(template, path)
    try:
        yield {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}, True
    finally:
        for leftover in (path, f"{path}-journal", f"{path}-wal", f"{path}-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(leftover)


@pytest.fixture
def database_config(_database):
    """Settings pointing at this test's private database, its tables there and empty."""
    return _database[0]


@pytest.fixture
def make_app(_database):
    """Build an app on the test database; `create_schema=False` does not create the tables (with
    `@pytest.mark.own_database`, the database is then empty)."""
    database_config, has_schema = _database
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
        same_database = config["SQLALCHEMY_DATABASE_URI"] == database_config["SQLALCHEMY_DATABASE_URI"]
        if create_schema and not (has_schema and same_database):
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


def pytest_collection_modifyitems(config, items):
    """`browser` and `cluster` by folder, so a new test there is marked without being told. Slow
    tests go first: spread over xdist workers, a minute-long test handed out last would keep the
    whole run waiting for it alone."""
    root = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        relative = os.path.relpath(str(item.path), root).split(os.sep)
        if relative[0] in ("browser", "cluster"):
            item.add_marker(getattr(pytest.mark, relative[0]))
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
