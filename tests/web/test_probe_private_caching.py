"""Issue 27, item 7: every response to a logged-in viewer that is not the shared public body is
`Cache-Control: private, no-store`. `/inbox`, `/account/teams`, `/account/notifications` and a
logged-in 404 carried the display name and a CSRF token with only `Vary: Cookie`."""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

from app.extensions import db
from app.models import Registration
from tests import factories as f
from tests.conftest import PLAYER_EMAIL, PLAYER_PASSWORD, csrf_token_from

SLUG = "cache-cup"


@pytest.fixture
def player_client(app, player_user):
    with app.app_context():
        t = f.br_tournament(SLUG)
        db.session.add(Registration(tournament_id=t.id, participant_id=f.participant(t, "A").id, user_id=player_user))
        f.lobby(t, [("A", 1, 3), ("B", 2, 1)])
        db.session.commit()
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"email": PLAYER_EMAIL, "password": PLAYER_PASSWORD, "csrf_token": token})
    assert answer.status_code == 302
    return client


def _get_urls(app) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        values = {}
        for name, converter in rule._converters.items():
            values[name] = 1 if isinstance(converter, IntegerConverter) or "id" in name else SLUG
        try:
            with app.test_request_context():
                from flask import url_for

                urls.append(url_for(rule.endpoint, **values))
        except Exception:  # a converter that refuses the sample value: filled by hand below
            continue
    return urls


def _private_unless_public(response) -> bool:
    if response.cache_control.public:
        return True
    return response.headers.get("Cache-Control") == "private, no-store"


def test_named_personal_pages_and_a_logged_in_404_are_private(app, player_client):
    for url in ("/inbox", "/account/teams", "/account/notifications", "/no-such-page", "/account/registrations"):
        response = player_client.get(url)
        assert response.status_code in (200, 404), url
        assert response.headers.get("Cache-Control") == "private, no-store", (url, response.headers)


def test_every_get_route_answers_a_logged_in_viewer_privately_or_as_the_shared_body(app, player_client):
    urls = _get_urls(app)
    assert len(urls) > 40
    wrong = []
    for url in urls:
        response = player_client.get(url)
        assert response.status_code < 500, url
        if not _private_unless_public(response):
            wrong.append((url, response.status_code, response.headers.get("Cache-Control")))
        response.close()
    assert not wrong, wrong


def test_anonymous_visitors_still_get_no_session_and_no_private_marking(app, client):
    with app.app_context():
        f.br_tournament(SLUG)
        db.session.commit()
    response = client.get(f"/tournaments/{SLUG}/")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert response.cache_control.public
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "private" not in (missing.headers.get("Cache-Control") or "")
