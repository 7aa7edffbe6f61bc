"""Logging in and out, the staff portal's gate, and API tokens."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from flask_login import login_user
from sqlalchemy import select

from app.auth.views import is_safe_next
from app.extensions import db
from app.models import ApiToken, Participant, Tournament, User
from app.services.accounts.tokens import (
    api_user,
    authenticate_api_request,
    create_token,
    revoke_user_tokens,
    user_for_token,
)
from tests.conftest import PLAYER_EMAIL, PLAYER_PASSWORD, STAFF_EMAIL, STAFF_PASSWORD, create_user, csrf_token_from


def _set_active(app, user_id: int, active: bool) -> None:
    with app.app_context():
        db.session.get(User, user_id).active = active
        db.session.commit()


def _is_logged_in(client) -> bool:
    response = client.get("/staff/")
    return response.status_code != 302


# --- logging in -------------------------------------------------------------------------------


def test_login_page_carries_csrf_token(client):
    response = client.get("/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert csrf_token_from(html)
    assert 'name="email"' in html and 'name="password"' in html


def test_staff_login_lands_on_staff_portal(client, auth, staff_user):
    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"
    page = client.get("/staff/")
    assert page.status_code == 200
    assert "Log out" in page.get_data(as_text=True)


def test_login_email_is_case_insensitive(client, auth, staff_user):
    response = auth.login(email="  Staff@Example.COM ")
    assert response.status_code == 302
    assert _is_logged_in(client)


@pytest.mark.parametrize(
    ("email", "password"),
    [(STAFF_EMAIL, "wrong password"), ("nobody@example.com", STAFF_PASSWORD)],
    ids=["wrong-password", "unknown-email"],
)
def test_wrong_credentials_rerender_with_401(client, auth, staff_user, email, password):
    response = auth.login(email=email, password=password)
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "Wrong email or password." in html
    # The email is kept for another try; the password is not echoed back.
    assert f'value="{email}"' in html
    assert password not in html
    assert not _is_logged_in(client)


def test_empty_form_is_400(client, staff_user):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": "", "password": "", "csrf_token": token})
    assert response.status_code == 400
    assert not _is_logged_in(client)


def test_login_without_csrf_token_is_refused(client, staff_user):
    client.get("/login")
    response = client.post("/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD})
    assert response.status_code == 400
    assert not _is_logged_in(client)


def test_inactive_user_cannot_log_in(app, client, auth, staff_user):
    _set_active(app, staff_user, False)
    response = auth.login()
    assert response.status_code == 401
    assert "deactivated" in response.get_data(as_text=True)
    assert not _is_logged_in(client)


def test_inactive_user_gets_generic_message_for_wrong_password(app, auth, staff_user):
    _set_active(app, staff_user, False)
    response = auth.login(password="wrong password")
    assert response.status_code == 401
    assert "deactivated" not in response.get_data(as_text=True)


def test_deactivation_ends_an_open_session(app, client, auth, staff_user):
    auth.login()
    assert client.get("/staff/").status_code == 200
    _set_active(app, staff_user, False)
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_visiting_login_while_logged_in_redirects(client, auth, staff_user):
    auth.login()
    response = client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"


# --- the next parameter -----------------------------------------------------------------------


def test_login_follows_safe_next(client, staff_user):
    page = client.get("/login?next=/staff/%3Fview%3Dall")
    html = page.get_data(as_text=True)
    assert 'name="next" type="hidden" value="/staff/?view=all"' in html
    response = client.post(
        "/login",
        data={
            "email": STAFF_EMAIL,
            "password": STAFF_PASSWORD,
            "next": "/staff/?view=all",
            "csrf_token": csrf_token_from(html),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/?view=all"


def test_login_required_round_trip_returns_to_the_page(client, staff_user):
    bounce = client.get("/staff/")
    assert bounce.status_code == 302
    login_page = client.get(bounce.headers["Location"])
    html = login_page.get_data(as_text=True)
    token = csrf_token_from(html)
    assert 'value="/staff/"' in html
    response = client.post(
        "/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "next": "/staff/", "csrf_token": token}
    )
    assert response.headers["Location"] == "/staff/"


UNSAFE_TARGETS = [
    "https://evil.example/",
    "http://localhost/staff/",
    "//evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "",
]


@pytest.mark.parametrize("target", UNSAFE_TARGETS)
def test_unsafe_next_is_ignored(client, staff_user, target):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "next": target, "csrf_token": token}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"


@pytest.mark.parametrize("target", UNSAFE_TARGETS + [None])
def test_is_safe_next_refuses(target):
    assert not is_safe_next(target)


@pytest.mark.parametrize("target", ["/", "/staff/", "/tournaments/ff-cup/?theme=dark#top"])
def test_is_safe_next_accepts_local_paths(target):
    assert is_safe_next(target)


def test_unsafe_next_on_get_while_logged_in_is_ignored(client, auth, staff_user):
    auth.login()
    response = client.get("/login?next=//evil.example/")
    assert response.headers["Location"] == "/staff/"


# --- logging out ------------------------------------------------------------------------------


def test_logout(client, auth, staff_user):
    auth.login()
    response = auth.logout()
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert not _is_logged_in(client)


def test_logout_is_post_only(client, auth, staff_user):
    auth.login()
    assert client.get("/logout").status_code == 405
    assert _is_logged_in(client)


def test_logout_without_csrf_token_is_refused(client, auth, staff_user):
    auth.login()
    assert client.post("/logout").status_code == 400
    assert _is_logged_in(client)


def test_logout_button_is_a_csrf_protected_form(client, auth, staff_user):
    auth.login()
    html = client.get("/staff/").get_data(as_text=True)
    assert 'action="/logout"' in html
    assert 'name="csrf_token"' in html


# --- the staff portal -------------------------------------------------------------------------


def test_staff_portal_redirects_anonymous_to_login(client):
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fstaff%2F"


def test_player_may_log_in_but_not_enter_staff_portal(client, auth, player_user):
    response = auth.login(email=PLAYER_EMAIL, password=PLAYER_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] != "/staff/"
    page = client.get("/staff/")
    assert page.status_code == 403
    html = page.get_data(as_text=True)
    assert "Staff only" in html
    assert "Staff portal</a>" not in html
    # The 403 page keeps the layout, so the player can still log out from it.
    assert auth.logout().status_code == 302
    assert not _is_logged_in(client)


def test_admin_is_staff(app, client, auth):
    create_user(app, "admin@example.com", "admin password 1", admin=True)
    auth.login(email="admin@example.com", password="admin password 1")
    assert client.get("/staff/").status_code == 200


def test_staff_portal_lists_tournaments(app, client, auth, staff_user):
    with app.app_context():
        cup = Tournament(slug="ff-weekly-cup", name="Free Fire Weekly Cup", game="freefire", status="live")
        cup.participants = [Participant(key="t1", name="Team Phoenix"), Participant(key="t2", name="Team Hydra")]
        db.session.add_all([cup, Tournament(slug="val-open", name="Valorant <Open>", game="valorant")])
        db.session.commit()
    auth.login()
    response = client.get("/staff/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Free Fire Weekly Cup" in html
    assert "ff-weekly-cup" in html
    assert "Valorant &lt;Open&gt;" in html  # names are escaped
    # Live tournaments come first, with their participant count.
    assert html.index("Free Fire Weekly Cup") < html.index("Valorant &lt;Open&gt;")
    row = html[html.index("Free Fire Weekly Cup") :].split("</tr>")[0]
    assert '<td class="num">2</td>' in row
    assert "Live" in row


def test_staff_portal_without_tournaments(client, auth, staff_user):
    auth.login()
    assert "No tournaments yet" in client.get("/staff/").get_data(as_text=True)


# --- API tokens -------------------------------------------------------------------------------


def test_create_token_stores_only_a_hash(app, staff_user):
    with app.app_context():
        raw = create_token(staff_user)
        assert raw.startswith("dc_") and len(raw) > 40
        token = db.session.scalars(select(ApiToken)).one()
        assert token.user_id == staff_user
        assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
        assert token.prefix == raw[:8]
        assert raw not in (token.token_hash, token.prefix)
        assert create_token(staff_user) != raw


def test_user_for_token_finds_the_user_and_records_use(app, staff_user):
    with app.app_context():
        raw = create_token(staff_user)
        assert db.session.scalars(select(ApiToken)).one().last_used_at is None
        user = user_for_token(raw)
        assert user is not None and user.id == staff_user
        used = db.session.scalars(select(ApiToken)).one().last_used_at
        assert used is not None and datetime.now(UTC) - used < timedelta(minutes=1)


@pytest.mark.parametrize(
    "raw",
    ["", "dc_", "dc_not-a-real-token", "not-even-prefixed", "dc_" + "a" * 500, "dc_é", None],
)
def test_user_for_token_refuses_wrong_tokens(app, staff_user, raw):
    with app.app_context():
        create_token(staff_user)
        assert user_for_token(raw) is None


def test_user_for_token_refuses_revoked_token(app, staff_user):
    with app.app_context():
        raw = create_token(staff_user)
        assert revoke_user_tokens(staff_user) == 1
        assert user_for_token(raw) is None
        assert revoke_user_tokens(staff_user) == 0
        fresh = create_token(staff_user)
        assert user_for_token(fresh).id == staff_user


def test_user_for_token_refuses_inactive_user(app, staff_user):
    with app.app_context():
        raw = create_token(staff_user)
    _set_active(app, staff_user, False)
    with app.app_context():
        assert user_for_token(raw) is None


def test_authenticate_api_request_with_bearer(app, staff_user):
    with app.app_context():
        raw = create_token(staff_user)
    with app.test_request_context(headers={"Authorization": f"Bearer {raw}"}):
        user, method = authenticate_api_request()
        assert (user.id, method) == (staff_user, "bearer")
        assert api_user().id == staff_user
    with app.test_request_context(headers={"Authorization": f"bearer   {raw}  "}):
        assert authenticate_api_request()[0].id == staff_user


@pytest.mark.parametrize("header", ["Bearer dc_unknown", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "dc_sometoken"])
def test_bad_authorization_header_means_bearer_failure(app, staff_user, header):
    with app.test_request_context(headers={"Authorization": header}):
        assert authenticate_api_request() == (None, "bearer")
        assert api_user() is None


def test_authenticate_api_request_without_credentials(app):
    with app.test_request_context():
        assert authenticate_api_request() == (None, None)
        assert api_user() is None


def test_authenticate_api_request_with_session(app, staff_user):
    with app.test_request_context():
        login_user(db.session.get(User, staff_user))
        user, method = authenticate_api_request()
        assert (user.id, method) == (staff_user, "session")


def test_bad_bearer_header_wins_over_session(app, staff_user):
    with app.test_request_context(headers={"Authorization": "Bearer dc_wrong"}):
        login_user(db.session.get(User, staff_user))
        assert authenticate_api_request() == (None, "bearer")


def test_good_bearer_header_wins_over_session(app, staff_user, player_user):
    with app.app_context():
        raw = create_token(player_user)
    with app.test_request_context(headers={"Authorization": f"Bearer {raw}"}):
        login_user(db.session.get(User, staff_user))
        user, method = authenticate_api_request()
        assert (user.id, method) == (player_user, "bearer")
