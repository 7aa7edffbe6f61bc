"""Who may open what under /staff/: generated from the app's URL map, so a route added later is
checked without anyone remembering to list it.

anonymous -> 302 to /login; player -> 403; staff -> anything but 403, except admin-only views
(`@admin_required`) -> 403; admin -> anything but 403. Every POST without a CSRF token is
refused (400) and changes nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from app import create_app
from app.extensions import db
from app.models import ApiToken, AuditEvent, Tournament, User
from tests.conftest import create_user, csrf_token_from

PASSWORD = "matrix password 123"
ROLES = ("anonymous", "player", "staff", "admin")
SLUG = "matrix-cup"
# Routes that must stay admins-only whatever their view says (a missing decorator is a bug).
ADMIN_PREFIXES = ("/staff/users", "/staff/webhooks")


def _staff_rules():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    admin_only = {endpoint for endpoint, view in app.view_functions.items() if getattr(view, "admin_only", False)}
    rules = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff"):
            continue
        methods = sorted(m for m in rule.methods if m not in ("HEAD", "OPTIONS"))
        for method in methods:
            rules.append((rule.rule, rule.endpoint, method, rule.endpoint in admin_only))
    return rules


STAFF_RULES = _staff_rules()


def test_the_matrix_sees_the_portal():
    endpoints = {endpoint for _rule, endpoint, _m, _a in STAFF_RULES}
    assert {"staff.dashboard", "staff.audit_log", "staff.audit_csv", "staff.tokens", "staff.users"} <= endpoints
    for rule, _endpoint, _method, admin_only in STAFF_RULES:
        if rule.startswith(ADMIN_PREFIXES):
            assert admin_only, f"{rule} manages users but is not @admin_required"


def _url(app, rule: str, endpoint: str) -> str:
    """Fill the rule's arguments: ids that exist nowhere (so nothing real is changed) and the
    matrix tournament's slug for text arguments."""
    (werkzeug_rule,) = [r for r in app.url_map.iter_rules() if r.rule == rule and r.endpoint == endpoint]
    values = {}
    for name, converter in werkzeug_rule._converters.items():
        values[name] = 999_999 if isinstance(converter, IntegerConverter) else SLUG
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


def _client_as(app, role: str):
    client = app.test_client()
    if role == "anonymous":
        return client
    email = f"{role}@matrix.example"
    create_user(app, email, PASSWORD, staff=role in ("staff", "admin"), admin=role == "admin")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token}).status_code == 302
    return client


def _csrf(client) -> str:
    # Any page with a form carries the session's token; the log-in page works for every role.
    html = client.get("/account/password").get_data(as_text=True)
    if 'name="csrf_token"' not in html:
        html = client.get("/login").get_data(as_text=True)
    return csrf_token_from(html)


@pytest.fixture
def matrix_app(app):
    with app.app_context():
        db.session.add(Tournament(slug=SLUG, name="Matrix Cup", game="freefire", status="live"))
        db.session.commit()
    return app


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("rule", "endpoint", "method", "admin_only"), STAFF_RULES, ids=lambda v: str(v))
def test_authorisation_matrix(matrix_app, role, rule, endpoint, method, admin_only):
    client = _client_as(matrix_app, role)
    url = _url(matrix_app, rule, endpoint)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.open(url, method=method, data={"csrf_token": _csrf(client)})
    status = response.status_code
    if role == "anonymous":
        assert status == 302, (url, status)
        assert response.headers["Location"].startswith("/login?next=")
    elif role == "player" or (role == "staff" and admin_only):
        assert status == 403, (url, status)
    else:
        assert status != 403, (url, status)
        assert status < 500, (url, status)
    assert response.headers.get("Cache-Control") == "no-store"


def _counts(app):
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (AuditEvent, ApiToken, User, Tournament)
        )


POST_RULES = [r for r in STAFF_RULES if r[2] != "GET"]


@pytest.mark.parametrize(("rule", "endpoint", "method", "admin_only"), POST_RULES, ids=lambda v: str(v))
def test_staff_posts_without_csrf_token_are_refused(matrix_app, rule, endpoint, method, admin_only):
    client = _client_as(matrix_app, "admin")
    before = _counts(matrix_app)
    response = client.open(_url(matrix_app, rule, endpoint), method=method, data={})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert _counts(matrix_app) == before


def test_csrf_refused_for_real_actions_too(app, staff_user):
    """Creating a token and creating a user, the two portal changes of this part, without a token."""
    client = _client_as(app, "admin")
    before = _counts(app)
    assert client.post("/staff/tokens/").status_code == 400
    assert (
        client.post("/staff/users/", data={"email": "x@example.com", "password": "long enough pw"}).status_code == 400
    )
    assert _counts(app) == before
