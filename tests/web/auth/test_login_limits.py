"""Log-in limits that cannot be raced, and lock-outs that an attacker cannot impose on the owner
and an admin can lift (issue 14)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from tests import ROOT
from tests.conftest import STAFF_EMAIL, create_user, csrf_token_from
from tests.web.auth.test_auth_hardening import REDIS_URI, _login, _redis_up

needs_redis = pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379")
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin password 123"


def _redis_settings(**extra):
    # A prefix per test: Redis is shared with other test runs on this machine.
    return {"RATELIMIT_STORAGE_URI": REDIS_URI, "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}", **extra}


def _parallel_wrong_guesses(app, count: int, email: str = STAFF_EMAIL) -> list[int]:
    """`count` clients post a wrong password at the same moment; their status codes."""
    clients = [app.test_client() for _ in range(count)]
    tokens = [csrf_token_from(c.get("/login").get_data(as_text=True)) for c in clients]
    barrier = threading.Barrier(count)
    statuses: list[int] = []
    lock = threading.Lock()

    def guess(client, token):
        barrier.wait()
        response = client.post("/login", data={"email": email, "password": "wrong password", "csrf_token": token})
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=pair) for pair in zip(clients, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return statuses


def test_twenty_simultaneous_wrong_guesses_get_exactly_the_limit_through(make_app, staff_user):
    app = make_app(LOGIN_LIMIT_PER_ACCOUNT="5 per 15 minutes")
    statuses = _parallel_wrong_guesses(app, 20)
    assert sorted(statuses) == [401] * 5 + [429] * 15
    assert _login(app.test_client()).status_code == 429  # the right password too, from a new browser


@needs_redis
def test_simultaneous_guesses_against_redis_get_exactly_the_limit_through(make_app, staff_user):
    app = make_app(**_redis_settings(LOGIN_LIMIT_PER_ACCOUNT="5 per 15 minutes"))
    statuses = _parallel_wrong_guesses(app, 16)
    assert sorted(statuses) == [401] * 5 + [429] * 11


_WORKER = """
import json, os, re, sys, threading
from app import create_app
config = json.loads(os.environ["WORKER_CONFIG"])
app = create_app(config)
count = int(sys.argv[1])
clients = [app.test_client() for _ in range(count)]
tokens = [re.search(r'name="csrf_token"[^>]*value="([^"]+)"', c.get("/login").get_data(as_text=True)).group(1)
          for c in clients]
# Both processes start guessing when the go file appears.
import time
while not os.path.exists(sys.argv[3]):
    time.sleep(0.01)
out = []
def guess(client, token):
    r = client.post("/login", data={"email": sys.argv[2], "password": "wrong password", "csrf_token": token})
    out.append(r.status_code)
threads = [threading.Thread(target=guess, args=p) for p in zip(clients, tokens)]
[t.start() for t in threads]
[t.join() for t in threads]
print(" ".join(map(str, out)))
"""


@pytest.mark.slow
@needs_redis
def test_two_processes_racing_on_one_redis_get_exactly_the_limit_through(
    make_app, database_config, staff_user, tmp_path
):
    """What gunicorn with threads does: two processes, each firing guesses in parallel."""
    settings = _redis_settings(LOGIN_LIMIT_PER_ACCOUNT="5 per 15 minutes")
    config = {"TESTING": True, "SECRET_KEY": "test-secret-key", **database_config, **settings}
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, "8", STAFF_EMAIL, str(go)],
            env={**os.environ, "WORKER_CONFIG": json.dumps(config)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    import time

    time.sleep(3)  # both have built their app and fetched their forms
    go.write_text("go")
    statuses = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        statuses += [int(s) for s in out.split()]
    assert sorted(statuses) == [401] * 5 + [429] * 11


def test_a_successful_log_in_gives_its_slot_back(make_app, staff_user):
    app = make_app(LOGIN_LIMIT_PER_ACCOUNT="2 per 15 minutes")
    client = app.test_client()
    assert _login(client, password="wrong password").status_code == 401
    for _ in range(3):
        assert _login(app.test_client()).status_code == 302
    assert _login(client, password="wrong password").status_code == 401
    assert _login(client, password="wrong password").status_code == 429


# --- known devices ------------------------------------------------------------------------------


def test_owner_logs_in_from_a_known_device_while_an_attacker_hammers_the_account(make_app, staff_user):
    app = make_app(LOGIN_LIMIT_PER_ACCOUNT="3 per 15 minutes")
    owner = app.test_client()
    assert _login(owner).status_code == 302
    assert owner.get_cookie("dc_device") is not None
    owner.post("/logout", data={"csrf_token": csrf_token_from(owner.get("/staff/").get_data(as_text=True))})

    attacker = app.test_client()
    results = [_login(attacker, password=f"guess {i}", environ_base={"REMOTE_ADDR": "203.0.113.9"}) for i in range(8)]
    assert [r.status_code for r in results] == [401] * 3 + [429] * 5
    # The attacker is locked out even with the right password, and so is a new device.
    assert _login(attacker, environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 429
    assert _login(app.test_client()).status_code == 429
    # The owner's browser is known to the account: it still gets in.
    response = _login(owner)
    assert response.status_code == 302
    assert owner.get("/staff/").status_code == 200


def test_a_known_device_has_its_own_limit(make_app, staff_user):
    app = make_app(LOGIN_LIMIT_PER_ACCOUNT="2 per 15 minutes")
    owner = app.test_client()
    assert _login(owner).status_code == 302
    device = app.test_client()
    device.set_cookie("dc_device", owner.get_cookie("dc_device").value)
    assert [_login(device, password=f"typo {i}").status_code for i in range(3)] == [401, 401, 429]
    # Those failures were the device's: the account's shared bucket is untouched.
    assert _login(app.test_client()).status_code == 302


@pytest.mark.parametrize("cookie", ["not-signed", "eyJkIjoiYWJjIiwidSI6WzFdfQ.forged"])
def test_a_forged_device_cookie_is_no_exemption(make_app, staff_user, cookie):
    app = make_app(LOGIN_LIMIT_PER_ACCOUNT="2 per 15 minutes")
    attacker = app.test_client()
    attacker.set_cookie("dc_device", cookie)
    assert [_login(attacker, password=f"g{i}").status_code for i in range(3)] == [401, 401, 429]


def test_a_device_known_to_another_account_is_no_exemption(make_app, staff_user):
    app = make_app(LOGIN_LIMIT_PER_ACCOUNT="2 per 15 minutes")
    create_user(app, "mine@example.com", "my own password 1", staff=True)
    attacker = app.test_client()
    assert _login(attacker, "mine@example.com", "my own password 1").status_code == 302
    device = app.test_client()
    device.set_cookie("dc_device", attacker.get_cookie("dc_device").value)
    assert [_login(device, password=f"g{i}").status_code for i in range(3)] == [401, 401, 429]


# --- lifting a lock -----------------------------------------------------------------------------


def _lock_out(app):
    attacker = app.test_client()
    for i in range(3):
        _login(attacker, password=f"guess {i}")
    assert _login(app.test_client()).status_code == 429


def _events(app, action):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_flask_users_unlock_lifts_the_lock_and_is_audited(make_app, staff_user):
    app = make_app(LOGIN_LIMIT_PER_ACCOUNT="3 per 15 minutes")
    _lock_out(app)
    result = app.test_cli_runner().invoke(args=["users", "unlock", STAFF_EMAIL.upper()])
    assert result.exit_code == 0, result.output
    assert f"{STAFF_EMAIL} unlocked" in result.output
    assert _login(app.test_client()).status_code == 302
    [event] = _events(app, "user.unlocked")
    assert event.actor_id is None and event.target_id == staff_user


def test_flask_users_unlock_of_an_unknown_email_is_a_one_line_error(app):
    result = app.test_cli_runner().invoke(args=["users", "unlock", "nobody@example.com"])
    assert result.exit_code != 0
    assert "no user with email nobody@example.com" in result.output
    assert "Traceback" not in result.output


def test_set_password_by_an_admin_lifts_the_lock(make_app, staff_user):
    app = make_app(LOGIN_LIMIT_PER_ACCOUNT="3 per 15 minutes")
    _lock_out(app)
    result = app.test_cli_runner().invoke(
        args=["users", "set-password", STAFF_EMAIL, "--password-stdin"], input="a brand new password\n"
    )
    assert result.exit_code == 0, result.output
    assert _login(app.test_client(), password="a brand new password").status_code == 302


def test_portal_unlock_button_lifts_the_lock_and_is_audited(make_app, staff_user):
    app = make_app(LOGIN_LIMIT_PER_ACCOUNT="3 per 15 minutes")
    admin_id = create_user(app, ADMIN_EMAIL, ADMIN_PASSWORD, staff=True, admin=True)
    _lock_out(app)
    admin = app.test_client()
    assert _login(admin, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 302
    page = admin.get("/staff/users/").get_data(as_text=True)
    assert f'action="/staff/users/{staff_user}/unlock"' in page
    response = admin.post(f"/staff/users/{staff_user}/unlock", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    assert "log-in unlocked" in admin.get("/staff/users/").get_data(as_text=True)
    assert _login(app.test_client()).status_code == 302
    [event] = _events(app, "user.unlocked")
    assert event.actor_id == admin_id and event.target_id == staff_user


def test_portal_unlock_is_for_admins_only(make_app, staff_user):
    app = make_app(LOGIN_LIMIT_PER_ACCOUNT="3 per 15 minutes")
    _lock_out(app)
    create_user(app, "colleague@example.com", "colleague password", staff=True)
    staff = app.test_client()
    assert _login(staff, "colleague@example.com", "colleague password").status_code == 302
    token = csrf_token_from(staff.get("/staff/").get_data(as_text=True))
    assert staff.post(f"/staff/users/{staff_user}/unlock", data={"csrf_token": token}).status_code == 403
    assert _login(app.test_client()).status_code == 429
    assert _events(app, "user.unlocked") == []


@needs_redis
def test_unlock_clears_the_counts_in_redis_for_every_worker(make_app, staff_user):
    settings = _redis_settings(LOGIN_LIMIT_PER_ACCOUNT="3 per 15 minutes")
    first, second = make_app(**settings), make_app(**settings)
    _lock_out(first)
    assert _login(second.test_client()).status_code == 429
    assert first.test_cli_runner().invoke(args=["users", "unlock", STAFF_EMAIL]).exit_code == 0
    assert _login(second.test_client()).status_code == 302
