"""Who may open what: every route of the app, with the role it needs written down here, in the
test's own table (`EXPECTED`), not read from the code. A route missing from the table fails
`test_every_route_is_in_the_table`, so a new route cannot slip in unchecked; removing
`@admin_required` (or `@login_required`) from a view fails the matrix for that route.

Levels:
- anyone: no role refuses it (401/403 or a log-in redirect would be a bug).
- user: anyone logged in; anonymous -> 302 to /login?next= (htmx polls: 401).
- staff: anonymous -> 302 to /login; player -> 403; staff and admin pass.
- admin: anonymous -> 302 to /login; player and staff -> 403; admin passes.
- api-staff: API writes, called with bearer tokens: none -> 401; player -> 403; staff and admin pass.
- api-user: the registration API's player endpoints, bearer tokens: none -> 401; any account passes
  (what a player may do to a registration that is not theirs is the service's rule, tested there).
Every staff POST without a CSRF token is refused (400) and changes nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from app import create_app
from app.extensions import db
from app.models import ApiToken, AuditEvent, Tournament, User
from app.services.accounts.tokens import create_token
from tests.conftest import create_user, csrf_token_from

PASSWORD = "matrix password 123"
ROLES = ("anonymous", "player", "staff", "admin")
SLUG = "matrix-cup"

EXPECTED: dict[tuple[str, str], str] = {
    # public pages, the widget, the public API
    ("public.index", "GET"): "anyone",
    ("public.favicon", "GET"): "anyone",
    ("public.tournament", "GET"): "anyone",
    ("public.series", "GET"): "anyone",
    ("public.standings_csv", "GET"): "anyone",
    ("public.standings_json", "GET"): "anyone",
    ("healthz", "GET"): "anyone",
    ("readyz", "GET"): "anyone",
    # the visitor's own header on shared pages: anonymous visitors get the log-in links (204)
    ("public.account_nav", "GET"): "anyone",
    ("static", "GET"): "anyone",
    ("embed.script", "GET"): "anyone",
    ("embed.widget", "GET"): "anyone",
    ("api.openapi", "GET"): "anyone",
    ("api.tournaments", "GET"): "anyone",
    ("api.tournament", "GET"): "anyone",
    ("api.leaderboard", "GET"): "anyone",
    ("api.results", "GET"): "anyone",
    ("api.series", "GET"): "anyone",
    # API writes
    ("api.record_match", "POST"): "api-staff",
    ("api.match_state", "POST"): "api-staff",
    ("api.override_placement", "POST"): "api-staff",
    ("api.clear_override", "DELETE"): "api-staff",
    ("api.complete", "POST"): "api-staff",
    ("api.correct_match", "PUT"): "api-staff",
    ("api.void_match", "POST"): "api-staff",
    ("api.restore_match", "POST"): "api-staff",
    ("api.adjustments", "GET"): "api-staff",
    ("api.adjustment_add", "POST"): "api-staff",
    ("api.adjustment_edit", "PATCH"): "api-staff",
    ("api.adjustment_delete", "DELETE"): "api-staff",
    # registration (contract §7): settings are public, players act on their own entries
    ("api.registration_settings", "GET"): "anyone",
    ("api.save_registration_settings", "PUT"): "api-staff",
    ("api.decide", "POST"): "api-staff",
    ("api.register", "POST"): "api-user",
    ("api.registrations", "GET"): "api-user",
    ("api.submit_payment", "POST"): "api-user",
    ("api.withdraw", "POST"): "api-user",
    ("api.check_in", "POST"): "api-user",
    # accounts
    ("auth.login", "GET"): "anyone",
    ("auth.login", "POST"): "anyone",
    ("auth.logout", "POST"): "anyone",
    ("auth.change_password", "GET"): "user",
    ("auth.change_password", "POST"): "user",
    ("players.signup", "GET"): "anyone",
    ("players.signup", "POST"): "anyone",
    ("players.verify_email", "GET"): "anyone",
    ("players.resend_verification", "POST"): "user",
    ("players.unsubscribe", "GET"): "anyone",
    ("players.unsubscribe", "POST"): "anyone",
    ("players.teams", "GET"): "user",
    ("players.teams", "POST"): "user",
    ("players.leave_team", "GET"): "user",
    ("players.leave_team", "POST"): "user",
    ("players.register", "GET"): "user",
    ("players.register", "POST"): "user",
    ("players.registrations", "GET"): "user",
    ("players.registration", "GET"): "user",
    ("players.registration_proof", "POST"): "user",
    ("players.registration_withdraw", "GET"): "user",
    ("players.registration_withdraw", "POST"): "user",
    ("players.registration_check_in", "POST"): "user",
    ("players.registration_join_code", "POST"): "user",
    ("players.proof_screenshot", "GET"): "user",
    ("players.inbox_view", "GET"): "user",
    ("players.mark_read", "POST"): "user",
    ("players.mark_all_read", "POST"): "user",
    ("players.unread_count", "GET"): "user",
    ("players.notification_settings", "GET"): "user",
    ("players.notification_settings", "POST"): "user",
    # the staff portal
    ("staff.dashboard", "GET"): "staff",
    ("staff.audit_log", "GET"): "staff",
    ("staff.audit_csv", "GET"): "staff",
    ("staff.tokens", "GET"): "staff",
    ("staff.token_create", "POST"): "staff",
    ("staff.token_revoke", "POST"): "staff",
    ("staff.tournaments_index", "GET"): "staff",
    ("staff.tournament_new", "GET"): "staff",
    ("staff.tournament_new", "POST"): "staff",
    ("staff.tournament_import", "GET"): "staff",
    ("staff.tournament_import", "POST"): "staff",
    ("staff.tournament", "GET"): "staff",
    ("staff.tournament_edit", "GET"): "staff",
    ("staff.tournament_edit", "POST"): "staff",
    ("staff.announcements_page", "GET"): "staff",
    ("staff.announcements_page", "POST"): "staff",
    ("staff.participant_check_in", "POST"): "staff",
    ("staff.tournament_status", "POST"): "staff",
    ("staff.tournament_complete", "GET"): "staff",
    ("staff.tournament_complete", "POST"): "staff",
    ("staff.participant_edit", "GET"): "staff",
    ("staff.participant_edit", "POST"): "staff",
    ("staff.participant_remove", "GET"): "staff",
    ("staff.participant_remove", "POST"): "staff",
    ("staff.adjustment_edit", "GET"): "staff",
    ("staff.adjustment_edit", "POST"): "staff",
    ("staff.adjustment_delete", "GET"): "staff",
    ("staff.adjustment_delete", "POST"): "staff",
    ("staff.lobby_void", "GET"): "staff",
    ("staff.lobby_void", "POST"): "staff",
    ("staff.lobby_restore", "POST"): "staff",
    ("staff.registration_settings", "GET"): "staff",
    ("staff.registration_settings", "POST"): "staff",
    ("staff.registrations", "GET"): "staff",
    ("staff.registrations_csv", "GET"): "staff",
    ("staff.registration_decide", "POST"): "staff",
    ("staff.registrations_verify_many", "POST"): "staff",
    ("staff.registration_refund", "GET"): "staff",
    ("staff.registration_refund", "POST"): "staff",
    ("staff.adjustment_add", "POST"): "staff",
    ("staff.participant_add", "POST"): "staff",
    ("staff.participant_join_code", "POST"): "staff",
    ("staff.participants_paste", "POST"): "staff",
    ("staff.lobbies_list", "GET"): "staff",
    ("staff.lobby_new", "GET"): "staff",
    ("staff.lobby_new", "POST"): "staff",
    ("staff.lobby_check", "POST"): "staff",
    ("staff.lobby_paste", "POST"): "staff",
    ("staff.lobby_edit", "GET"): "staff",
    ("staff.lobby_edit", "POST"): "staff",
    ("staff.match_state", "POST"): "staff",
    ("staff.payments_list", "GET"): "staff",
    ("staff.payment_decide", "POST"): "staff",
    ("staff.results", "GET"): "staff",
    ("staff.results_clear", "POST"): "staff",
    ("staff.results_override", "POST"): "staff",
    ("staff.series_list", "GET"): "staff",
    ("staff.series_create", "POST"): "staff",
    ("staff.series_add_game", "POST"): "staff",
    ("staff.series_record", "POST"): "staff",
    ("staff.series_forfeit", "POST"): "staff",
    # admins only
    ("staff.users", "GET"): "admin",
    ("staff.user_create", "POST"): "admin",
    ("staff.user_role", "POST"): "admin",
    ("staff.user_active", "POST"): "admin",
    ("staff.user_unlock", "POST"): "admin",
    ("staff.webhooks", "GET"): "admin",
    ("staff.webhook_create", "POST"): "admin",
    ("staff.webhook_endpoint", "GET"): "admin",
    ("staff.webhook_update", "POST"): "admin",
    ("staff.webhook_redeliver", "POST"): "admin",
    ("staff.webhook_disable", "POST"): "admin",
    ("staff.webhook_enable", "POST"): "admin",
    ("staff.webhook_rotate", "POST"): "admin",
    ("staff.webhook_test", "POST"): "admin",
    ("staff.webhook_delete", "GET"): "admin",
    ("staff.webhook_delete", "POST"): "admin",
    ("staff.webhook_retry_failed", "POST"): "admin",
    ("staff.webhook_default_retry_failed", "POST"): "admin",
    ("staff.webhook_default", "GET"): "admin",
    ("staff.webhook_default_redeliver", "POST"): "admin",
    ("staff.webhook_default_test", "POST"): "admin",
}


def _all_rules():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    rules = []
    for rule in app.url_map.iter_rules():
        for method in sorted(m for m in rule.methods if m not in ("HEAD", "OPTIONS")):
            rules.append((rule.rule, rule.endpoint, method))
    return rules


ALL_RULES = _all_rules()
# Routes missing from the table are reported by the completeness test; they are not guessed at here.
MATRIX = [
    (rule, endpoint, method, EXPECTED[endpoint, method])
    for rule, endpoint, method in ALL_RULES
    if (endpoint, method) in EXPECTED
]
STAFF_RULES = [
    (rule, endpoint, method, level == "admin") for rule, endpoint, method, level in MATRIX if rule.startswith("/staff")
]


def test_every_route_is_in_the_table():
    found = {(endpoint, method) for _rule, endpoint, method in ALL_RULES}
    missing = sorted(found - EXPECTED.keys())
    assert not missing, f"routes with no expected role in EXPECTED (add them): {missing}"
    stale = sorted(EXPECTED.keys() - found)
    assert not stale, f"EXPECTED lists routes the app no longer has: {stale}"


def test_the_table_puts_user_and_webhook_management_behind_admin():
    for rule, endpoint, method in ALL_RULES:
        if rule.startswith(("/staff/users", "/staff/webhooks")):
            assert EXPECTED[endpoint, method] == "admin", rule


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


def _bearer(app, role: str) -> dict[str, str]:
    if role == "anonymous":
        return {}
    email = f"{role}@matrix.example"
    user_id = create_user(app, email, PASSWORD, staff=role in ("staff", "admin"), admin=role == "admin")
    with app.app_context():
        return {"Authorization": f"Bearer {create_token(user_id)}"}


def _sent_to_login(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("rule", "endpoint", "method", "level"), MATRIX, ids=lambda v: str(v))
def test_authorisation_matrix(matrix_app, role, rule, endpoint, method, level):
    url = _url(matrix_app, rule, endpoint)
    if level in ("api-staff", "api-user"):
        response = matrix_app.test_client().open(url, method=method, json={}, headers=_bearer(matrix_app, role))
        status = response.status_code
        if role == "anonymous":
            assert status == 401, (url, status)
        elif role == "player" and level == "api-staff":
            assert status == 403, (url, status)
        else:
            assert status not in (401, 403) and status < 500, (url, status)
        return
    client = _client_as(matrix_app, role)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.open(url, method=method, data={"csrf_token": _csrf(client)})
    response.close()  # file responses (favicon, static) hold their file open until closed
    status = response.status_code
    assert status < 500, (url, status)
    refused = status in (401, 403) or _sent_to_login(response)
    if level == "anyone":
        assert not refused, (url, role, status)
    elif level == "user":
        if role == "anonymous":
            assert _sent_to_login(response) or status == 401, (url, status)
        else:
            assert not refused, (url, role, status)
    else:
        needs = ("staff", "admin") if level == "staff" else ("admin",)
        if role == "anonymous":
            assert _sent_to_login(response), (url, status)
        elif role not in needs:
            assert status == 403, (url, role, status)
        else:
            assert not refused, (url, role, status)
        assert response.headers.get("Cache-Control") in ("no-store", "private, no-store")


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
