"""Faults found by probing as an outsider: deeply nested JSON and a database outage."""

from __future__ import annotations

import socket

import pytest

from app.extensions import db
from app.models import Tournament
from app.services.inputs.text import MAX_JSON_DEPTH, all_storable, check_json
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, csrf_token_from

# 1..5000 sampled: every depth up to past the limit, then across the range that used to give
# a 500 (330-900, where parsing works but a recursive walk did not) and past the parser's own.
DEPTHS = sorted(
    {*range(1, MAX_JSON_DEPTH + 3), 100, 299, 300, 330, 331, 500, 700, 899, 900, 989, 990, 1000, 2500, 5000}
)


def _nested(depth: int, leaf: str = '"x"') -> str:
    """A JSON object `depth` levels deep: {"results": [[[...]]]}."""
    if depth == 1:
        return '{"results": ' + leaf + "}"
    return '{"results": ' + "[" * (depth - 1) + leaf + "]" * (depth - 1) + "}"


@pytest.fixture
def staff_token(app, staff_user):
    from app.services.accounts.tokens import create_token

    with app.app_context():
        db.session.add(Tournament(slug="deep-cup", name="Deep Cup", game="freefire", status="live"))
        db.session.commit()
        return create_token(staff_user)


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize(
    "path", ["/api/tournaments/deep-cup/matches/", "/api/tournaments/deep-cup/override-placement/"]
)
def test_nested_json_is_400_at_every_depth(client, staff_token, path, depth):
    response = client.post(
        path,
        data=_nested(depth),
        headers={"Authorization": f"Bearer {staff_token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400, (depth, response.get_data(as_text=True)[:200])
    message = response.get_json()["error"]
    if depth > MAX_JSON_DEPTH:
        assert "nested too deeply" in message


def test_depth_limit_is_exact():
    check_json({"a": [[1]]})
    ok = {"a": 1}
    for _ in range(MAX_JSON_DEPTH - 1):
        ok = {"a": ok}
    check_json(ok)
    from app.errors import ValidationError

    with pytest.raises(ValidationError, match="nested too deeply"):
        check_json({"a": ok})


def test_storable_walk_has_no_recursion_limit():
    value: object = "ok"
    for _ in range(50_000):
        value = [value]
    assert all_storable(value)
    assert not all_storable({"k": [[["\x00"]]]})
    assert not all_storable({"\udc80": 1})


# --- database outage ---------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dead_app(make_app, tmp_path):
    """The same app (same secret key), with its database gone: a PostgreSQL URL on a port
    nobody listens on."""
    return make_app(
        create_schema=False,
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/gone",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}},
    )


PAGES = ["/", "/tournaments/ff-dhaka-cup/", "/staff/", "/staff/audit", "/staff/users/", "/staff/tokens/"]


def _assert_outage_page(response, url):
    assert response.status_code == 503, (url, response.status_code)
    html = response.get_data(as_text=True)
    assert "Temporarily unavailable" in html and "<html" in html, url
    assert response.headers["Retry-After"]


@pytest.mark.parametrize("url", PAGES)
def test_database_outage_gives_the_sites_503_page_to_anonymous_visitors(dead_app, url):
    response = dead_app.test_client().get(url)
    if url.startswith("/staff/"):
        # No cookie, no database needed: straight to the log-in page, which works without one.
        assert response.status_code == 302
    else:
        _assert_outage_page(response, url)


def _logged_in_cookie(app) -> str:
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client.get_cookie("session").value


@pytest.mark.parametrize("url", PAGES)
def test_database_outage_with_a_login_cookie_is_still_the_503_page(app, staff_user, dead_app, url):
    cookie = _logged_in_cookie(app)
    client = dead_app.test_client()
    client.set_cookie("session", cookie)
    _assert_outage_page(client.get(url), url)


def test_routing_404_stays_404_during_an_outage_even_with_a_login_cookie(app, staff_user, dead_app):
    cookie = _logged_in_cookie(app)
    client = dead_app.test_client()
    client.set_cookie("session", cookie)
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Not found" in html and "Log in" in html  # drawn for an anonymous visitor
    assert dead_app.test_client().get("/no/such/page").status_code == 404


def test_database_outage_on_login_post_and_api(app, staff_user, dead_app):
    client = dead_app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token})
    _assert_outage_page(response, "/login")

    api = client.get("/api/tournaments/")
    assert api.status_code == 503
    assert api.get_json() == {"error": "the database is not answering; please try again in a minute"}
    assert client.get("/healthz").status_code == 503


def test_database_outage_on_sqlite(make_app, tmp_path):
    dead = make_app(
        create_schema=False,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/db.sqlite3",
        SQLALCHEMY_ENGINE_OPTIONS={},
    )
    _assert_outage_page(dead.test_client().get("/"), "/")


def test_disposed_engine_and_a_dead_server_mid_run(app, staff_user):
    """The database goes away while the app runs: point the engine at a dead port."""
    cookie = _logged_in_cookie(app)
    with app.app_context():
        engine = db.engine
        engine.dispose()
        from sqlalchemy import create_engine

        dead = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/gone")
        db._app_engines[app][None] = dead
    try:
        client = app.test_client()
        client.set_cookie("session", cookie)
        _assert_outage_page(client.get("/staff/"), "/staff/")
    finally:
        with app.app_context():
            db._app_engines[app][None] = engine
            dead.dispose()
    client = app.test_client()
    client.set_cookie("session", cookie)
    assert client.get("/staff/").status_code == 200  # and it recovers when the database is back
