"""Hosts and variants: only allowed Host names are answered, absolute links come from
PUBLIC_BASE_URL, query values cannot mint new cache entries, the home page is cached by a
database version, and logged-in viewers get the shared body plus a private header fragment."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import Participant, Tournament
from app.security import CSP_DENY_FRAMING
from tests import factories as f
from tests.conftest import STAFF_EMAIL
from tests.web.public.test_public import HX


@pytest.fixture
def cup(app):
    with app.app_context():
        t = f.br_tournament("br-cup", preset="ffws")
        f.lobby(t, [("A", 1, 5), ("B", 2, 3), ("C", 3, 1), ("D", 4, 0)], stage="Day 1")
        db.session.commit()
    return "br-cup"


@pytest.mark.parametrize("path", ["/", "/tournaments/br-cup/", "/no-such-page", "/embed/br-cup", "/api/tournaments/"])
def test_unknown_host_is_a_400_before_routing(client, cup, path):
    response = client.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "evil.example" not in response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"]


def test_unknown_host_gets_the_site_error_page(client, cup):
    response = client.get("/", headers={"Host": "evil.example"})
    assert "does not answer to that host name" in response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"] == CSP_DENY_FRAMING


def test_health_checks_answer_any_host(client):
    assert client.get("/healthz", headers={"Host": "10.0.0.7:8000"}).status_code == 200
    assert client.get("/readyz", headers={"Host": "10.0.0.7:8000"}).status_code == 200


def test_production_answers_only_its_own_names(make_app):
    app = make_app(
        TESTING=False,
        RATELIMIT_STORAGE_URI="memory://",
        PUBLIC_BASE_URL="https://live.example",
        ALLOWED_HOSTS="www.live.example, Mirror.Example",
    )
    client = app.test_client()
    assert client.get("/", base_url="https://live.example").status_code == 200
    assert client.get("/", base_url="https://www.live.example:8443").status_code == 200
    assert client.get("/", base_url="https://mirror.example").status_code == 200
    assert client.get("/", base_url="http://localhost").status_code == 400
    assert client.get("/", base_url="http://127.0.0.1").status_code == 400


def test_make_run_style_loopback_site_answers_both_loopback_names(make_app):
    app = make_app(TESTING=False, RATELIMIT_STORAGE_URI="memory://", PUBLIC_BASE_URL="http://127.0.0.1:5000")
    client = app.test_client()
    assert client.get("/", base_url="http://127.0.0.1:5000").status_code == 200
    assert client.get("/", base_url="http://localhost:5000").status_code == 200
    assert client.get("/", base_url="http://evil.example:5000").status_code == 400


def test_forwarded_host_is_never_trusted(make_app, cup):
    app = make_app(TRUSTED_PROXY_COUNT=1, PUBLIC_BASE_URL="https://live.example")
    client = app.test_client()
    response = client.get("/tournaments/br-cup/", headers={"X-Forwarded-Host": "evil.example"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "evil.example" not in html and "https://live.example/embed.js" in html
    overlay = client.get("/embed/br-cup?overlay=1", headers={"X-Forwarded-Host": "evil.example"})
    assert "evil.example" not in overlay.get_data(as_text=True)


def test_host_and_unknown_query_keys_mint_no_variant(make_app, cup):
    app = make_app(ALLOWED_HOSTS="mirror.example")
    client = app.test_client()
    first = client.get("/tournaments/br-cup/", headers=HX)
    renders = app.extensions["deltacrown_render_cache"].renders
    for n in range(20):
        # Unknown keys never reach a render: a cacheable redirect to the one canonical address.
        again = client.get(f"/tournaments/br-cup/?utm_source={n}&x{n}=1", headers=HX)
        assert again.status_code == 302 and again.headers["Location"] == "/tournaments/br-cup/"
        assert again.headers["Cache-Control"] == "public, max-age=60"
        assert "Set-Cookie" not in again.headers
    other_host = client.get("/tournaments/br-cup/", headers=HX, base_url="http://mirror.example")
    assert other_host.headers["ETag"] == first.headers["ETag"]
    assert app.extensions["deltacrown_render_cache"].renders == renders


def test_series_tournament_ignores_battle_royale_variants(app, client):
    with app.app_context():
        f.series_tournament("series-cup")
        db.session.commit()
    plain = client.get("/tournaments/series-cup/", headers=HX)
    paged = client.get("/tournaments/series-cup/?lobbies=7&matches=m1", headers=HX)
    assert plain.headers["ETag"] == paged.headers["ETag"]


def test_lobby_page_past_the_last_redirects_and_renders_nothing(app, client, cup):
    renders = app.extensions.get("deltacrown_render_cache")
    before = renders.renders if renders else 0
    for n in (2, 50, 999999):
        response = client.get(f"/tournaments/br-cup/?lobbies={n}", headers=HX)
        assert response.status_code == 302 and response.headers["Location"] == "/tournaments/br-cup/"
    assert app.extensions["deltacrown_render_cache"].renders == before


def test_home_page_is_rendered_once_per_list_version(app, client, cup):
    first = client.get("/")
    renders = app.extensions["deltacrown_render_cache"].renders
    for _ in range(5):
        assert client.get("/").get_data() == first.get_data()
    assert app.extensions["deltacrown_render_cache"].renders == renders
    assert first.headers["Cache-Control"].startswith("public")


def test_list_version_is_shared_by_instances_through_the_database(make_app, cup):
    one, two = make_app(), make_app()
    tag = one.test_client().get("/").headers["ETag"]
    assert two.test_client().get("/", headers={"If-None-Match": tag}).status_code == 304
    with one.app_context():
        t = db.session.scalar(db.select(Tournament).filter_by(slug="br-cup"))
        db.session.add(Participant(tournament_id=t.id, key="E", name="Echo Five"))
        db.session.commit()
    answer = two.test_client().get("/", headers={"If-None-Match": tag})
    assert answer.status_code == 200 and "5 teams" in answer.get_data(as_text=True)
    with two.app_context():
        db.session.delete(db.session.scalar(db.select(Tournament).filter_by(slug="br-cup")))
        db.session.commit()
    assert "br-cup" not in one.test_client().get("/").get_data(as_text=True)


def test_logged_in_viewers_get_the_shared_body_and_their_own_header(app, client, cup, staff_user, auth):
    anonymous = app.test_client().get("/tournaments/br-cup/")
    auth.login()
    client.get("/staff/")  # shows (and so clears) the log-in message
    mine = client.get("/tournaments/br-cup/")
    assert mine.headers["Cache-Control"].startswith("public")
    assert mine.get_data() == anonymous.get_data()
    assert 'hx-get="/account-nav" hx-trigger="load" hx-swap="outerHTML"' in mine.get_data(as_text=True)
    header = client.get("/account-nav", headers=HX)
    html = header.get_data(as_text=True)
    assert header.status_code == 200 and header.headers["Cache-Control"] == "private, no-store"
    assert "Staff portal" in html and STAFF_EMAIL.split("@")[0] in html and 'name="csrf_token"' in html
    home = client.get("/")
    assert home.headers["Cache-Control"].startswith("public") and "Staff portal" not in home.get_data(as_text=True)


def test_account_nav_is_empty_for_anonymous_visitors(client):
    response = client.get("/account-nav")
    assert response.status_code == 204 and response.headers["Cache-Control"] == "private, no-store"
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    ("asked", "canonical"),
    [
        ("/tournaments/br-cup/?fbclid=IwAR0abc", "/tournaments/br-cup/"),
        ("/tournaments/br-cup/?stage=Day+1&STAGE=x", "/tournaments/br-cup/?stage=Day+1"),
        ("/tournaments/br-cup/?stage=a&stage=b", "/tournaments/br-cup/?stage=a"),
        ("/tournaments/br-cup/?matches=m10,m2,m2,+m1", "/tournaments/br-cup/?matches=m1,m2,m10"),
        ("/tournaments/br-cup/standings.csv?matches=m2,m1&x=1", "/tournaments/br-cup/standings.csv?matches=m1,m2"),
        ("/tournaments/br-cup/standings.json?utm_medium=social", "/tournaments/br-cup/standings.json"),
        ("/embed/br-cup?limit=5&theme=dark&ref=obs", "/embed/br-cup?limit=5&theme=dark"),
        ("/?page=2", "/"),
    ],
)
def test_every_cached_address_has_one_spelling_per_variant(app, client, cup, asked, canonical):
    response = client.get(asked)
    assert response.status_code == 302
    location = response.headers["Location"].replace("%2C", ",")
    assert location == canonical
    assert client.get(canonical.replace(",", "%2C") if "matches" in canonical else canonical).status_code in (200, 404)


def test_canonical_addresses_and_the_apps_own_links_are_not_redirected(app, client, cup):
    for url in (
        "/tournaments/br-cup/",
        "/tournaments/br-cup/?stage=",
        "/tournaments/br-cup/?lobbies=1&stage=Day+1",
        "/tournaments/br-cup/?stage=Day+1&lobbies=1",
        "/embed/br-cup?overlay=1&theme=dark&limit=3",
        "/tournaments/br-cup/standings.csv",
    ):
        assert client.get(url).status_code != 302, url
    page = client.get("/tournaments/br-cup/").get_data(as_text=True)
    for link in re.findall(r'(?:href|hx-get)="(/tournaments/br-cup/[^"]*)"', page):
        link = link.replace("&amp;", "&")
        assert client.get(link).status_code != 302, link
