"""A logged-in viewer's answers are the shared ones: no `Vary: Cookie`, no refreshed cookie, so a
shared cache (nginx, a CDN) keeps one copy per address for everyone (issue 15). Only an answer
that depends on the visitor (a flashed message waiting) is private."""

from __future__ import annotations

import pytest

import tests.factories as f
from app.extensions import db
from app.models import User
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, create_user, csrf_token_from

SHARED = [
    ("/", {}),
    ("/tournaments/br-cup/", {}),
    ("/tournaments/br-cup/", {"HX-Request": "true"}),
    ("/embed/br-cup", {}),
    ("/tournaments/br-cup/standings.csv", {}),
]


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        f.br_tournament("br-cup", teams=("Alpha", "Bravo"))
        db.session.commit()
    user_id = create_user(app, STAFF_EMAIL, STAFF_PASSWORD, staff=True)
    with app.app_context():
        db.session.get(User, user_id).display_name = "Secret Staff Name"
        db.session.commit()
    return app


def _log_in(app, remember: bool):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    data = {"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": csrf_token_from(page)}
    if remember:
        data["remember"] = "y"
    assert client.post("/login", data=data).status_code == 302
    return client


@pytest.mark.parametrize("remember", [False, True])
def test_logged_in_viewers_get_answers_a_shared_cache_may_keep_for_everyone(app, remember):
    client = _log_in(app, remember)
    client.get("/account/password")  # shows (and so consumes) the "logged in" flash
    for url, headers in SHARED:
        for _ in range(2):  # a fresh render, then the render cache
            response = client.get(url, headers=headers)
            assert response.status_code == 200, url
            assert "public" in response.headers["Cache-Control"], url
            assert "Cookie" not in (response.headers.get("Vary") or ""), (url, response.headers.get("Vary"))
            assert not response.headers.getlist("Set-Cookie"), url
            assert "Secret Staff Name" not in response.get_data(as_text=True), url


def test_a_waiting_flashed_message_is_rendered_for_that_visitor_alone(app):
    client = _log_in(app, remember=False)  # the log-in left "Logged in" waiting
    response = client.get("/tournaments/br-cup/")
    assert "private" in response.headers["Cache-Control"]
    assert "public" not in response.headers["Cache-Control"]
    # Once shown, the next view is the shared one again.
    again = client.get("/tournaments/br-cup/")
    assert "public" in again.headers["Cache-Control"] and "Cookie" not in (again.headers.get("Vary") or "")


def test_anonymous_answers_are_unchanged(app):
    response = app.test_client().get("/tournaments/br-cup/", headers={"HX-Request": "true"})
    assert response.headers["Vary"] == "HX-Request, HX-Boosted, HX-History-Restore-Request, Accept-Encoding"
    assert not response.headers.getlist("Set-Cookie")
