"""The embeddable widget and overlay: options, live polls, framing, no cookies, embed.js."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from tests import factories as f
from tests.web.public.test_public import HX, rename


@pytest.fixture
def cup(app):
    with app.app_context():
        t = f.br_tournament("br-cup", preset="ffws", teams=("A", "B", "C", "D"))
        t.advancing = 2
        rename(t, "A", "Echo <Team>")
        f.lobby(t, [("A", 1, 5), ("B", 2, 3), ("C", 3, 1), ("D", 4, 0)])
        s = f.series_tournament("val-cup")
        gf = f.series(s, "gf", "A", "B", 3)
        f.game(gf, "A", (13, 4))
        rename(s, "B", "Blue <Ravens>")
        db.session.commit()
    return "br-cup"


def widget_rows(html):
    return re.findall(r'<th scope="row">([^<]*)</th>', html)


def test_widget_shows_standings_escaped_and_is_frameable_anywhere(client, cup):
    response = client.get("/embed/br-cup")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert widget_rows(html) == ["Echo &lt;Team&gt;", "Team B", "Team C", "Team D"]
    assert "Echo <Team>" not in html
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in csp and "'none'" not in csp.split("frame-ancestors")[1]
    assert "script-src 'self'" in csp
    assert "X-Frame-Options" not in response.headers
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.headers.get("Vary", "")
    assert response.headers["Cache-Control"] == "public, max-age=1, s-maxage=1"
    assert '<script src="/static/js/embed-frame.js" defer></script>' in html
    assert 'target="_blank" rel="noopener"' in html  # the link out opens a new tab, not inside the frame
    assert "<script>" not in html and " style=" not in html
    assert 'class="embed"' in html  # no theme class: follows the viewer's system setting
    assert "site-header" not in html  # no site chrome


def test_widget_options(client, cup):
    html = client.get("/embed/br-cup?theme=dark&limit=2").get_data(as_text=True)
    assert 'class="embed theme-dark"' in html
    assert widget_rows(html) == ["Echo &lt;Team&gt;", "Team B"]
    assert "2 more" in html
    overlay = client.get("/embed/br-cup?overlay=1&theme=light").get_data(as_text=True)
    assert 'class="embed theme-light overlay"' in overlay
    assert "Full standings" not in overlay  # no chrome in an overlay


def test_widget_for_a_series_tournament(client, cup):
    html = client.get("/embed/val-cup").get_data(as_text=True)
    assert widget_rows(html) == ["GF"]
    assert "Blue &lt;Ravens&gt;" in html and "1–0" in html


def test_widget_polls_with_304(client, cup):
    first = client.get("/embed/br-cup?limit=3", headers=HX)
    html = first.get_data(as_text=True)
    assert html.strip().startswith('<div id="widget"')
    assert 'hx-get="/embed/br-cup?limit=3" hx-trigger="every 1s" hx-swap="outerHTML"' in html
    again = client.get("/embed/br-cup?limit=3", headers={**HX, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert "frame-ancestors *" in again.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("theme=purple", "theme: must be light or dark"),
        ("limit=0", "limit: must be a whole number from 1 to 100"),
        ("limit=101", "limit: must be a whole number from 1 to 100"),
        ("limit=abc", "limit: must be a whole number"),
        ("overlay=maybe", "overlay: must be 1 or 0"),
    ],
)
def test_widget_bad_options_are_400(client, cup, query, needle):
    response = client.get(f"/embed/br-cup?{query}")
    assert response.status_code == 400
    assert needle in response.get_data(as_text=True)
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]


def test_widget_unknown_tournament_is_a_framed_404(client):
    response = client.get("/embed/nope")
    assert response.status_code == 404
    assert "There is no tournament" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers


def test_widget_sets_no_cookie_even_for_a_logged_in_viewer(client, cup, staff_user, auth):
    auth.login()
    response = client.get("/embed/br-cup")
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"].startswith("public")


def test_embed_js(client):
    response = client.get("/embed.js")
    body = response.get_data(as_text=True)
    response.close()
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "public, max-age=" in response.headers["Cache-Control"]
    # Sizes only its own iframes, and only from the widget's origin.
    assert "event.origin === frame.origin" in body and "event.source === frame.iframe.contentWindow" in body
    assert "data-tournament" in body
