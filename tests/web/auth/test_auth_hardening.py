"""Log-in hardening: server-side log-out (session version), remember me, password change,
attempt limits shared across app instances, production cookie flags, no-store headers."""

from __future__ import annotations

import socket
import uuid

import pytest

from app.extensions import db
from app.models import AuditEvent, Tournament, User
from tests import ROOT
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, create_user, csrf_token_from

REDIS_URI = "redis://127.0.0.1:6379/0"


def _login(client, email=STAFF_EMAIL, password=STAFF_PASSWORD, remember=False, **extra):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    data = {"email": email, "password": password, "csrf_token": token, **extra}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data)


def _cookie(client, name):
    cookie = client.get_cookie(name)
    return cookie.value if cookie is not None else None


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tournament(app) -> str:
    with app.app_context():
        db.session.add(Tournament(slug="replay-cup", name="Replay Cup", game="freefire", status="live"))
        db.session.commit()
    return "replay-cup"


# --- log-out ends the session on the server ---------------------------------------------------


def test_cookie_saved_before_logout_no_longer_opens_staff_pages(app, client, staff_user):
    assert _login(client).status_code == 302
    saved = _cookie(client, "session")

    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert replay.get("/staff/").status_code == 200  # the copy works while the session lives

    token = csrf_token_from(client.get("/staff/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302

    replay = app.test_client()
    replay.set_cookie("session", saved)
    response = replay.get("/staff/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_cookie_saved_before_logout_fails_the_api_session_and_csrf_check(app, client, staff_user):
    slug = _tournament(app)
    _login(client)
    saved = _cookie(client, "session")
    csrf = csrf_token_from(client.get("/staff/").get_data(as_text=True))
    url = f"/api/tournaments/{slug}/matches/"
    body = {"results": [{"participant": "nobody", "placement": 1, "kills": 0}]}

    replay = app.test_client()
    replay.set_cookie("session", saved)
    # Before log-out the copied cookie and token get past authentication (400: bad lobby body).
    assert replay.post(url, json=body, headers={"X-CSRFToken": csrf}).status_code == 400

    client.post("/logout", data={"csrf_token": csrf})
    replay = app.test_client()
    replay.set_cookie("session", saved)
    response = replay.post(url, json=body, headers={"X-CSRFToken": csrf})
    assert response.status_code == 401
    assert response.get_json() == {"error": "authentication required"}


def test_remember_cookie_survives_the_session_but_not_logout(app, client, staff_user):
    _login(client, remember=True)
    remember = _cookie(client, "remember_token")
    assert remember

    fresh = app.test_client()  # a browser restarted: no session cookie, only the remember cookie
    fresh.set_cookie("remember_token", remember)
    assert fresh.get("/staff/").status_code == 200

    token = csrf_token_from(client.get("/staff/").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    assert client.get_cookie("remember_token") is None  # the browser is told to drop it

    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember)
    assert fresh.get("/staff/").status_code == 302


def test_without_remember_me_no_remember_cookie(client, staff_user):
    _login(client)
    assert client.get_cookie("remember_token") is None


def test_login_page_offers_remember_me(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'name="remember"' in html and "Remember me" in html


def test_session_from_before_the_version_scheme_is_refused(app, client, staff_user):
    # A cookie naming just the id (no version) is not a current session.
    with client.session_transaction() as session:
        session["_user_id"] = str(staff_user)
        session["_fresh"] = True
    assert client.get("/staff/").status_code == 302


def test_deactivation_ends_sessions_and_remember_cookies(app, client, staff_user):
    _login(client, remember=True)
    remember = _cookie(client, "remember_token")
    with app.app_context():
        from app.services.accounts import users

        users.set_active(staff_user, False, actor_id=None)
        users.set_active(staff_user, True, actor_id=None)  # even after reactivation
    assert client.get("/staff/").status_code == 302
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember)
    assert fresh.get("/staff/").status_code == 302


# --- password change ---------------------------------------------------------------------------


def test_password_change_ends_other_sessions_keeps_this_one(app, client, staff_user):
    _login(client)
    other = app.test_client()
    _login(other)
    assert other.get("/staff/").status_code == 200

    page = client.get("/account/password")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] in ("no-store", "private, no-store")
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": STAFF_PASSWORD,
            "new_password": "a brand new password",
            "confirm": "a brand new password",
        },
    )
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 200
    assert other.get("/staff/").status_code == 302

    with app.app_context():
        user = db.session.get(User, staff_user)
        assert user.check_password("a brand new password")
        event = db.session.scalars(db.select(AuditEvent).filter_by(action="user.password_changed")).one()
        assert event.actor_id == staff_user and event.target_id == staff_user
        assert "password" not in str(event.before) + str(event.after)


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("wrong password!", "a brand new password", "a brand new password", "not your current password"),
        (STAFF_PASSWORD, "short", "short", "at least 8"),
        (STAFF_PASSWORD, "a brand new password", "something else entirely", "The two passwords differ."),
    ],
)
def test_password_change_refusals_keep_the_old_password(app, client, staff_user, current, new, confirm, message):
    _login(client)
    token = csrf_token_from(client.get("/account/password").get_data(as_text=True))
    response = client.post(
        "/account/password",
        data={"csrf_token": token, "current_password": current, "new_password": new, "confirm": confirm},
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, staff_user).check_password(STAFF_PASSWORD)
    assert client.get("/staff/").status_code == 200


def test_password_page_needs_login(client):
    response = client.get("/account/password")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# --- attempt limits ----------------------------------------------------------------------------


def test_account_limit_gives_429_with_message_even_for_the_right_password(make_app, staff_user):
    app = make_app(LOGIN_LIMIT_PER_ACCOUNT="3 per 15 minutes")
    client = app.test_client()
    for _ in range(3):
        assert _login(client, password="wrong password").status_code == 401
    response = _login(client)
    assert response.status_code == 429
    assert "Too many failed log-in attempts for this account" in response.get_data(as_text=True)
    assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60
    assert _cookie(client, "session") is None or client.get("/staff/").status_code == 302
    # Another account from the same address is not affected by this account's limit.
    create_user(app, "other@example.com", "other password 1", staff=True)
    assert _login(client, "other@example.com", "other password 1").status_code == 302


def test_address_limit_counts_failures_over_many_accounts(make_app, staff_user):
    app = make_app(LOGIN_LIMIT_PER_ADDRESS="4 per 15 minutes")
    client = app.test_client()
    for i in range(4):
        assert _login(client, f"guess{i}@example.com", "wrong password").status_code == 401
    response = _login(client)
    assert response.status_code == 429
    assert "your network address" in response.get_data(as_text=True)
    # A different client address still gets in.
    other = app.test_client()
    token = csrf_token_from(other.get("/login").get_data(as_text=True))
    response = other.post(
        "/login",
        data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.0.0.7"},
    )
    assert response.status_code == 302


def test_successful_logins_do_not_count(make_app, staff_user):
    app = make_app(LOGIN_LIMIT_PER_ACCOUNT="2 per 15 minutes")
    for _ in range(4):
        client = app.test_client()
        assert _login(client).status_code == 302


@pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379 (CI and this machine have it)")
def test_limit_holds_across_two_app_instances_sharing_redis(make_app, staff_user):
    settings = {
        "RATELIMIT_STORAGE_URI": REDIS_URI,
        # A prefix per test run: Redis is shared with other test runs on this machine.
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "LOGIN_LIMIT_PER_ACCOUNT": "4 per 15 minutes",
    }
    first, second = make_app(**settings), make_app(**settings)
    assert first.extensions["login_throttle"] is not second.extensions["login_throttle"]
    a, b = first.test_client(), second.test_client()
    for client in (a, b, a, b):  # two "workers" take turns
        assert _login(client, password="wrong password").status_code == 401
    assert _login(a).status_code == 429
    assert _login(b).status_code == 429
    # A third instance with its own (memory) storage would not know: the sharing is Redis.
    alone = make_app(LOGIN_LIMIT_PER_ACCOUNT="4 per 15 minutes")
    assert _login(alone.test_client()).status_code == 302


def test_unreachable_rate_limit_storage_falls_back_to_memory_never_500(make_app, staff_user, caplog):
    app = make_app(
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{_free_port()}/0", LOGIN_LIMIT_PER_ACCOUNT="2 per 15 minutes"
    )
    client = app.test_client()
    assert _login(client).status_code == 302
    client = app.test_client()
    assert _login(client, password="wrong password").status_code == 401
    assert _login(client, password="wrong password").status_code == 401
    assert _login(client).status_code == 429  # still limited, in this process
    assert "unreachable" in caplog.text


def test_nul_in_the_email_is_a_failed_login_not_an_error(client, staff_user):
    response = _login(client, email="staff\x00@example.com", password="x\x00y")
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)


def test_current_password_guesses_share_the_account_limit(make_app, staff_user):
    app = make_app(LOGIN_LIMIT_PER_ACCOUNT="2 per 15 minutes")
    client = app.test_client()
    assert _login(client).status_code == 302
    for expected in (400, 400, 429):
        token = csrf_token_from(client.get("/account/password").get_data(as_text=True))
        data = {"csrf_token": token, "current_password": "a wrong guess", "new_password": "n" * 12, "confirm": "n" * 12}
        response = client.post("/account/password", data=data)
        assert response.status_code == expected
    assert "Too many failed log-in attempts for this account" in response.get_data(as_text=True)


@pytest.mark.parametrize("value", ["lots", "5 per fortnight", ""])
def test_bad_limit_setting_stops_start_up_with_its_name(make_app, value):
    from app.config import ConfigError

    with pytest.raises(ConfigError, match="LOGIN_LIMIT_PER_ACCOUNT"):
        make_app(LOGIN_LIMIT_PER_ACCOUNT=value)


def test_proxy_fix_is_off_by_default_so_forwarded_for_is_not_trusted(make_app, staff_user):
    app = make_app(LOGIN_LIMIT_PER_ADDRESS="2 per 15 minutes")
    client = app.test_client()
    for i in range(2):
        headers = {"X-Forwarded-For": f"203.0.113.{i}"}
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        client.post(
            "/login", data={"email": f"x{i}@example.com", "password": "nope nope", "csrf_token": token}, headers=headers
        )
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token},
        headers={"X-Forwarded-For": "198.51.100.9"},
    )
    assert response.status_code == 429  # a forged header does not buy a fresh address


def test_trusted_proxy_count_reads_the_proxy_supplied_address(make_app, staff_user):
    app = make_app(LOGIN_LIMIT_PER_ADDRESS="2 per 15 minutes", TRUSTED_PROXY_COUNT=1)
    client = app.test_client()
    for i in range(2):
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        client.post(
            "/login",
            data={"email": f"x{i}@example.com", "password": "nope nope", "csrf_token": token},
            headers={"X-Forwarded-For": "203.0.113.5"},
        )
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    blocked = client.post(
        "/login",
        data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token},
        headers={"X-Forwarded-For": "203.0.113.5"},
    )
    assert blocked.status_code == 429
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    other = client.post(
        "/login",
        data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token},
        headers={"X-Forwarded-For": "198.51.100.9"},
    )
    assert other.status_code == 302


# --- cookies and caching -----------------------------------------------------------------------


def _production_app(make_app, **extra):
    return make_app(
        TESTING=False,
        SECRET_KEY="a-production-secret-" + "x" * 20,
        RATELIMIT_STORAGE_URI="memory://",
        SESSION_COOKIE_SECURE=False,  # a deployer's mistake; production overrides it
        REMEMBER_COOKIE_SECURE=False,
        **extra,
    )


def _set_cookie_headers(response, name):
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]


def test_production_forces_secure_session_and_remember_cookies(make_app):
    app = _production_app(make_app)
    create_user(app, STAFF_EMAIL, STAFF_PASSWORD, staff=True)
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["REMEMBER_COOKIE_SECURE"] is True
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"  # behind the TLS proxy
    response = _login(client, remember=True)
    assert response.status_code == 302
    for name in ("session", "remember_token"):
        (header,) = _set_cookie_headers(response, name)
        assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header


@pytest.mark.parametrize("mode", [{"DEBUG": True}, {"TESTING": True}])
def test_debug_and_tests_keep_plain_http_cookies(make_app, mode):
    app = make_app(RATELIMIT_STORAGE_URI="memory://", **{"TESTING": False, **mode})
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_login_and_staff_pages_are_not_cached(client, staff_user):
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    anonymous = client.get("/staff/")
    assert anonymous.headers["Cache-Control"] == "no-store"
    failed = _login(client, password="wrong password")
    assert failed.headers["Cache-Control"] == "no-store"
    _login(client)
    for url in ("/staff/", "/staff/audit", "/staff/tokens/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] in ("no-store", "private, no-store"), url


def test_public_pages_stay_cacheable(client):
    assert client.get("/").headers.get("Cache-Control") != "no-store"


def test_expired_session_sends_htmx_requests_to_log_in_instead_of_swapping_the_login_page(client):
    """A live check or poll from a staff page whose session has ended must not put the log-in
    page inside a table cell: htmx gets 401 + HX-Redirect back to the page the user is on."""
    page = "http://localhost/staff/tournaments/spring-cup/lobbies/new?stage=Day+1"
    response = client.get(
        "/staff/tournaments/spring-cup/lobbies/new", headers={"HX-Request": "true", "HX-Current-URL": page}
    )
    assert response.status_code == 401
    expected = "/login?next=%2Fstaff%2Ftournaments%2Fspring-cup%2Flobbies%2Fnew%3Fstage%3DDay%2B1"
    assert response.headers["HX-Redirect"] == expected
    assert "<form" not in response.get_data(as_text=True)

    plain = client.get("/staff/audit?page=2")
    assert plain.status_code == 302
    assert plain.headers["Location"] == "/login?next=%2Fstaff%2Faudit%3Fpage%3D2"


_OTHER_WORKER = """
import json, os, re, sys
from app import create_app
config = json.loads(os.environ["OTHER_WORKER_CONFIG"])
client = create_app(config).test_client()
for _ in range(int(sys.argv[1])):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": sys.argv[2], "password": "wrong password", "csrf_token": token})
    print(response.status_code)
"""


@pytest.mark.slow
@pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379 (CI and this machine have it)")
def test_limit_holds_across_two_app_processes(make_app, database_config, staff_user):
    """What gunicorn does: separate processes, each with its own app, counting in one Redis."""
    import json
    import os
    import subprocess
    import sys

    settings = {
        "RATELIMIT_STORAGE_URI": REDIS_URI,
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "LOGIN_LIMIT_PER_ACCOUNT": "4 per 15 minutes",
    }
    config = {"TESTING": True, "SECRET_KEY": "test-secret-key", **database_config, **settings}
    other = subprocess.run(
        [sys.executable, "-c", _OTHER_WORKER, "3", STAFF_EMAIL],
        env={**os.environ, "OTHER_WORKER_CONFIG": json.dumps(config)},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert other.returncode == 0, other.stderr
    assert other.stdout.split() == ["401", "401", "401"]
    client = make_app(**settings).test_client()
    assert _login(client, password="wrong password").status_code == 401  # the fourth failure, here
    assert _login(client).status_code == 429  # even the right password: the other process's counts hold
