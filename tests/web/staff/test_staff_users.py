"""User administration and API tokens in the portal (one rule, two doors with `flask users`)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiToken, AuditEvent, User
from app.services.accounts.tokens import user_for_token
from tests.conftest import STAFF_EMAIL, create_user, csrf_token_from

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin password 123"


@pytest.fixture
def admin_user(app) -> int:
    return create_user(app, ADMIN_EMAIL, ADMIN_PASSWORD, admin=True)


@pytest.fixture
def admin(client, auth, admin_user):
    auth.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    return client


def _token(client, url="/staff/users/") -> str:
    return csrf_token_from(client.get(url).get_data(as_text=True))


def _user(app, email):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def _events(app, action):
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).filter_by(action=action).order_by(AuditEvent.id)).all()
        for event in events:
            db.session.expunge(event)
        return events


# --- users ------------------------------------------------------------------------------------


def test_admin_creates_a_staff_user_who_can_log_in(app, admin, admin_user):
    response = admin.post(
        "/staff/users/",
        data={
            "csrf_token": _token(admin),
            "email": "New.Ops@Example.com",
            "display_name": "  Ops  ",
            "role": "staff",
            "password": "a long password",
        },
    )
    assert response.status_code == 302
    user = _user(app, "new.ops@example.com")
    assert user.is_staff and not user.is_admin and user.display_name == "Ops"
    (event,) = _events(app, "user.created")
    assert event.actor_id == admin_user and event.target_id == user.id
    assert event.after == {"email": "new.ops@example.com", "display_name": "Ops", "role": "staff", "active": True}
    assert "a long password" not in str(event.after)
    other = app.test_client()
    token = csrf_token_from(other.get("/login").get_data(as_text=True))
    login = other.post(
        "/login", data={"email": "new.ops@example.com", "password": "a long password", "csrf_token": token}
    )
    assert login.headers["Location"] == "/staff/"


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"email": "not-an-email", "password": "a long password"}, 400, "not a valid email address"),
        ({"email": "x@example.com", "password": "short"}, 400, "between 8 and 1024"),
        ({"email": "", "password": "a long password"}, 400, "This field is required."),
        ({"email": STAFF_EMAIL, "password": "a long password"}, 409, "already exists"),
        ({"email": "x@example.com", "password": "a long password", "role": "emperor"}, 400, "Not a valid choice"),
        ({"email": "x@example.com", "password": "a long password", "display_name": "n" * 121}, 400, "120"),
        ({"email": "x@example.com", "password": "a long\x00password"}, 400, "NUL"),
    ],
)
def test_bad_new_user_rerenders_with_the_message_and_keeps_input(app, admin, staff_user, data, status, message):
    before = _count(app, User)
    response = admin.post("/staff/users/", data={"csrf_token": _token(admin), "role": "staff", **data})
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert message in html
    if data["email"]:
        assert f'value="{data["email"]}"' in html  # what was typed is still there
    assert 'type="password"' in html and "a long password" not in html
    assert _count(app, User) == before


def _count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_admin_changes_a_role_and_it_takes_effect_at_once(app, admin, admin_user, staff_user):
    staff = app.test_client()
    token = csrf_token_from(staff.get("/login").get_data(as_text=True))
    staff.post("/login", data={"email": STAFF_EMAIL, "password": "correct horse battery staple", "csrf_token": token})
    assert staff.get("/staff/").status_code == 200

    response = admin.post(f"/staff/users/{staff_user}/role", data={"csrf_token": _token(admin), "role": "player"})
    assert response.status_code == 302
    assert staff.get("/staff/").status_code == 403
    (event,) = _events(app, "user.role_changed")
    assert event.before["role"] == "staff" and event.after["role"] == "player" and event.actor_id == admin_user

    admin.post(f"/staff/users/{staff_user}/role", data={"csrf_token": _token(admin), "role": "admin"})
    assert staff.get("/staff/users/").status_code == 200
    # The same role again changes nothing and records nothing.
    admin.post(f"/staff/users/{staff_user}/role", data={"csrf_token": _token(admin), "role": "admin"})
    assert len(_events(app, "user.role_changed")) == 2


def test_deactivation_ends_sessions_and_tokens_and_is_audited(app, admin, admin_user, staff_user):
    with app.app_context():
        from app.services.accounts.tokens import create_token

        raw = create_token(staff_user)
    response = admin.post(f"/staff/users/{staff_user}/active", data={"csrf_token": _token(admin), "active": "0"})
    assert response.status_code == 302
    with app.app_context():
        assert user_for_token(raw) is None
        assert not db.session.get(User, staff_user).is_active
    assert [e.after["active"] for e in _events(app, "user.deactivated")] == [False]
    admin.post(f"/staff/users/{staff_user}/active", data={"csrf_token": _token(admin), "active": "1"})
    assert _user(app, STAFF_EMAIL).is_active
    assert len(_events(app, "user.reactivated")) == 1


def test_admin_cannot_lock_themself_out(app, admin, admin_user):
    token = _token(admin)
    response = admin.post(f"/staff/users/{admin_user}/active", data={"csrf_token": token, "active": "0"})
    assert response.status_code == 403
    assert "your own account" in response.get_data(as_text=True)
    response = admin.post(f"/staff/users/{admin_user}/role", data={"csrf_token": token, "role": "staff"})
    assert response.status_code == 403
    assert _user(app, ADMIN_EMAIL).is_admin and _user(app, ADMIN_EMAIL).is_active


@pytest.mark.parametrize(
    ("path", "data", "status"),
    [
        ("/staff/users/999999/role", {"role": "staff"}, 404),
        ("/staff/users/999999/active", {"active": "0"}, 404),
        ("/staff/users/{id}/role", {"role": "superuser"}, 400),
        ("/staff/users/{id}/active", {"active": "maybe"}, 400),
        ("/staff/users/99999999999/role", {"role": "staff"}, 404),
    ],
)
def test_bad_user_changes_are_4xx_and_change_nothing(app, admin, staff_user, path, data, status):
    response = admin.post(path.format(id=staff_user), data={"csrf_token": _token(admin), **data})
    assert response.status_code == status
    assert _user(app, STAFF_EMAIL).is_staff and _user(app, STAFF_EMAIL).is_active
    assert _count(app, AuditEvent) == 0


def test_cli_changes_are_audited_without_actor(app, runner, staff_user):
    assert runner.invoke(args=["users", "set-role", STAFF_EMAIL, "admin"]).exit_code == 0
    assert runner.invoke(args=["users", "deactivate", STAFF_EMAIL]).exit_code == 0
    assert runner.invoke(args=["users", "activate", STAFF_EMAIL]).exit_code == 0
    result = runner.invoke(args=["users", "set-password", STAFF_EMAIL, "--password-stdin"], input="another password\n")
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["users", "token", STAFF_EMAIL]).exit_code == 0
    assert runner.invoke(args=["users", "revoke-tokens", STAFF_EMAIL]).exit_code == 0
    result = runner.invoke(args=["users", "create", "cli@example.com", "--password-stdin"], input="cli password 1\n")
    assert result.exit_code == 0
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == [
            "user.role_changed",
            "user.deactivated",
            "user.reactivated",
            "user.password_changed",
            "token.created",
            "token.revoked_all",
            "user.created",
        ]
        assert all(e.actor_id is None for e in events)
        assert db.session.get(User, staff_user).check_password("another password")


def test_cli_set_role_refuses_unknown_role_and_user(runner, staff_user):
    assert runner.invoke(args=["users", "set-role", STAFF_EMAIL, "emperor"]).exit_code != 0
    result = runner.invoke(args=["users", "deactivate", "ghost@example.com"])
    assert result.exit_code == 1 and "no user with email ghost@example.com" in result.stderr


# --- API tokens --------------------------------------------------------------------------------


def test_staff_creates_a_token_shown_once_that_works(app, client, auth, staff_user):
    auth.login()
    page = client.get("/staff/tokens/")
    assert "You have no API tokens." in page.get_data(as_text=True)
    response = client.post("/staff/tokens/", data={"csrf_token": csrf_token_from(page.get_data(as_text=True))})
    assert response.status_code == 201
    assert response.headers["Cache-Control"] in ("no-store", "private, no-store")
    raw = re.search(r'id="new-token"[^>]*value="(dc_[^"]+)"', response.get_data(as_text=True)).group(1)
    with app.app_context():
        assert user_for_token(raw).id == staff_user
        token = db.session.scalars(select(ApiToken)).one()
        assert token.token_hash != raw
    again = client.get("/staff/tokens/").get_data(as_text=True)
    assert raw not in again and raw[:8] in again  # shown once; afterwards only its prefix
    api = client.get("/api/tournaments/", headers={"Authorization": f"Bearer {raw}"})
    assert api.status_code == 200
    (event,) = _events(app, "token.created")
    assert event.actor_id == staff_user and raw not in str(event.after)


def test_staff_revokes_their_own_token(app, client, auth, staff_user):
    auth.login()
    html = client.post("/staff/tokens/", data={"csrf_token": auth.csrf_token()}).get_data(as_text=True)
    raw = re.search(r'value="(dc_[^"]+)"', html).group(1)
    with app.app_context():
        token_id = db.session.scalars(select(ApiToken.id)).one()
    response = client.post(f"/staff/tokens/{token_id}/revoke", data={"csrf_token": auth.csrf_token()})
    assert response.status_code == 302
    with app.app_context():
        assert user_for_token(raw) is None
    assert "revoked" in client.get("/staff/tokens/").get_data(as_text=True)
    (event,) = _events(app, "token.revoked")
    assert event.before["revoked"] is False and event.after["revoked"] is True


def test_nobody_can_revoke_someone_elses_token(app, client, auth, staff_user, admin_user):
    with app.app_context():
        from app.services.accounts.tokens import create_token

        raw = create_token(admin_user)
        token_id = db.session.scalars(select(ApiToken.id)).one()
    auth.login()
    response = client.post(f"/staff/tokens/{token_id}/revoke", data={"csrf_token": auth.csrf_token()})
    assert response.status_code == 404
    with app.app_context():
        assert user_for_token(raw).id == admin_user
    assert _count(app, AuditEvent) == 0


def test_tokens_page_lists_only_my_tokens(app, client, auth, staff_user, admin_user):
    with app.app_context():
        from app.services.accounts.tokens import create_token

        other = create_token(admin_user)
    auth.login()
    assert other[:8] not in client.get("/staff/tokens/").get_data(as_text=True)


def test_staff_nav_shows_users_only_to_admins(client, auth, staff_user, admin_user, app):
    auth.login()
    html = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/audit"' in html and 'href="/staff/tokens/"' in html
    assert 'href="/staff/users/"' not in html
    admin = app.test_client()
    token = csrf_token_from(admin.get("/login").get_data(as_text=True))
    admin.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token})
    assert 'href="/staff/users/"' in admin.get("/staff/").get_data(as_text=True)
