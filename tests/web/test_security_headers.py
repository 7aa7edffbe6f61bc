"""Security headers on every response; framing denied everywhere but the widget."""

from __future__ import annotations

import pytest

from app.extensions import db
from tests import ROOT
from tests import factories as f


@pytest.fixture
def cup(app):
    with app.app_context():
        f.br_tournament("br-cup")
        db.session.commit()
    return "br-cup"


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/login",
        "/tournaments/br-cup/",
        "/tournaments/nope/",
        "/tournaments/br-cup/standings.csv",
        "/api/tournaments/",
        "/api/tournaments/nope/",
        "/healthz",
        "/static/css/app.css",
        "/staff/",
        "/definitely/not/here",
    ],
)
def test_every_response_has_the_headers_and_denies_framing(client, cup, url):
    response = client.get(url)
    response.close()
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("url", ["/embed/br-cup", "/embed/br-cup?overlay=1", "/embed.js", "/embed/nope"])
def test_only_embed_routes_may_be_framed(client, cup, url):
    response = client.get(url)
    response.close()
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_login_page_cannot_be_framed(client):
    response = client.get("/login")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_no_template_uses_inline_script_or_style():
    """The CSP refuses inline script and style attributes, so no template may rely on them."""
    import pathlib
    import re

    root = pathlib.Path(ROOT) / "app" / "templates"
    offenders = []
    for path in root.rglob("*.html"):
        if path.relative_to(root).parts[0] == "email":  # mail clients, not browsers under our CSP
            continue
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\sstyle=\"", text):
            offenders.append(str(path.relative_to(root)))
        if re.search(r"\son[a-z]+=\"", text) or "hx-on" in text:
            offenders.append(str(path.relative_to(root)))
    assert offenders == []
