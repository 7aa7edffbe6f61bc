"""Sign-up that reveals no accounts, is limited per address, and confirms the address by email
while email is on; join codes limited per account and per address (issue 14)."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import func, select

from app.extensions import db, mail
from app.models import Registration, User
from app.services.accounts import verification as email_verification
from tests import factories
from tests.conftest import PLAYER_EMAIL, PLAYER_PASSWORD, create_user, csrf_token_from
from tests.web.auth.test_auth_hardening import _login

BASE = "https://leaderboards.example.org"
LINK_RE = re.compile(r"https://leaderboards\.example\.org(/account/verify/[A-Za-z0-9_.-]+)")


def _signup(client, email="new@example.com", password="a good password", **extra):
    token = csrf_token_from(client.get("/signup").get_data(as_text=True))
    data = {"csrf_token": token, "email": email, "password": password, "confirm": password}
    return client.post("/signup", data=data, **extra)


def _user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def _email_app(make_app, **extra):
    return make_app(NOTIFICATIONS_EMAIL_ENABLED=True, PUBLIC_BASE_URL=BASE, **extra)


def _join_code(app, team="A") -> str:
    with app.app_context():
        factories.br_tournament("join-cup", teams=("A", "B"))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["players", "join-code", "join-cup", team])
    assert result.exit_code == 0, result.output
    return result.output.split("\t")[1]


def _join(client, code):
    token = csrf_token_from(client.get("/account/teams").get_data(as_text=True))
    return client.post("/account/teams", data={"csrf_token": token, "code": code})


# --- the same answer for a new and a taken address ---------------------------------------------


def _answer(client, email):
    response = _signup(client, email=email)
    page = client.get(response.headers.get("Location", "/nowhere")).get_data(as_text=True)
    flashed = re.search(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', page, re.S)
    return (
        response.status_code,
        response.headers.get("Location"),
        client.get("/inbox").status_code,  # 302 to log in: nobody is logged in either way
        flashed.group(1).replace(email.lower(), "EMAIL") if flashed else None,
    )


@pytest.mark.parametrize("email_on", [False, True])
def test_signup_answers_the_same_whether_or_not_the_address_has_an_account(make_app, email_on):
    app = _email_app(make_app) if email_on else make_app()
    create_user(app, PLAYER_EMAIL, PLAYER_PASSWORD)
    taken = _answer(app.test_client(), PLAYER_EMAIL.upper())
    new = _answer(app.test_client(), "fresh@example.com")
    assert taken == new
    assert taken[0] == 302 and taken[1] == "/login" and taken[2] == 302 and taken[3]
    assert _user_count(app) == 2
    # The owner's password did not change.
    assert _login(app.test_client(), PLAYER_EMAIL, PLAYER_PASSWORD).status_code == 302


def test_signup_does_not_log_in_and_the_new_account_logs_in_normally(make_app):
    app = make_app()
    client = app.test_client()
    assert _signup(client).status_code == 302
    assert client.get("/inbox").status_code == 302
    assert _login(client, "new@example.com", "a good password").status_code == 302
    assert client.get("/inbox").status_code == 200


def test_the_owner_of_a_taken_address_is_told_by_email(make_app):
    app = _email_app(make_app)
    create_user(app, PLAYER_EMAIL, PLAYER_PASSWORD)
    with mail.record_messages() as sent:
        assert _signup(app.test_client(), email=PLAYER_EMAIL, password="attacker password").status_code == 302
    [message] = sent
    assert message.recipients == [PLAYER_EMAIL]
    assert message.subject == "Someone tried to sign up with your address"
    assert "nothing was created" in message.body and f"{BASE}/login" in message.body
    assert "/account/verify/" not in message.body
    assert "attacker password" not in message.body + message.html


def test_a_taken_address_gets_no_email_while_email_is_off(make_app):
    app = make_app()
    create_user(app, PLAYER_EMAIL, PLAYER_PASSWORD)
    with mail.record_messages() as sent:
        _signup(app.test_client(), email=PLAYER_EMAIL)
    assert sent == []


# --- rate limit ---------------------------------------------------------------------------------


def test_signups_are_limited_per_address(make_app):
    app = make_app(SIGNUP_LIMIT_PER_ADDRESS="3 per hour")
    client = app.test_client()
    for i in range(3):
        assert _signup(client, email=f"bulk{i}@example.com").status_code == 302
    refused = _signup(client, email="bulk9@example.com")
    assert refused.status_code == 429
    assert "Too many sign-ups from your network address" in refused.get_data(as_text=True)
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert _user_count(app) == 3
    # A taken address counts too (otherwise it would be a free oracle), and another address is free.
    other = app.test_client()
    assert _signup(other, email="bulk9@example.com", environ_base={"REMOTE_ADDR": "198.51.100.4"}).status_code == 302
    assert _user_count(app) == 4


# --- verification -------------------------------------------------------------------------------


def _signup_and_link(app, email="new@example.com") -> tuple[str, object]:
    client = app.test_client()
    with mail.record_messages() as sent:
        assert _signup(client, email=email).status_code == 302
    [message] = sent
    assert message.recipients == [email] and message.subject == "Confirm your email address"
    link = LINK_RE.search(message.body).group(1)
    assert link in message.html
    assert _login(client, email, "a good password").status_code == 302
    return link, client


def test_while_email_is_on_a_new_account_must_confirm_before_joining_a_team(make_app):
    app = _email_app(make_app)
    code = _join_code(app)
    link, client = _signup_and_link(app)
    page = client.get("/account/teams").get_data(as_text=True)
    assert "Confirm your email address" in page and "Send me a new link" in page
    refused = _join(client, code)
    assert refused.status_code == 403
    assert "Confirm your email address first" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Registration.id))) == 0

    confirmed = client.get(link)
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == "/account/teams"
    page = client.get("/account/teams").get_data(as_text=True)
    assert "is confirmed" in page and "Send me a new link" not in page
    assert _join(client, code).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(Registration.id))) == 1
    # Following the link again changes nothing and is not an error.
    assert client.get(link).status_code == 302


def test_with_email_off_accounts_count_as_verified(make_app):
    app = make_app()
    code = _join_code(app)
    client = app.test_client()
    _signup(client)
    _login(client, "new@example.com", "a good password")
    assert "Send me a new link" not in client.get("/account/teams").get_data(as_text=True)
    assert _join(client, code).status_code == 302


def test_verification_helpers_for_other_services(make_app):
    app = _email_app(make_app)
    user_id = create_user(app, PLAYER_EMAIL, PLAYER_PASSWORD)
    with app.app_context():
        user = db.session.get(User, user_id)
        assert not email_verification.is_verified(user)
        with pytest.raises(email_verification.PermissionDenied) as caught:
            email_verification.require_verified(user)
        assert caught.value.status == 403
        app.config["NOTIFICATIONS_EMAIL_ENABLED"] = False
        assert email_verification.is_verified(user)
        email_verification.require_verified(user)


def test_accounts_made_by_an_admin_are_verified(make_app):
    app = _email_app(make_app)
    result = app.test_cli_runner().invoke(
        args=["users", "create", "made@example.com", "--password-stdin"], input="a good password\n"
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "made@example.com"))
        assert email_verification.is_verified(user)


@pytest.mark.parametrize("case", ["tampered", "expired", "address_changed", "garbage"])
def test_bad_confirmation_links_are_refused_with_a_message(make_app, case, monkeypatch):
    app = _email_app(make_app, EMAIL_VERIFICATION_MAX_AGE=60)
    link, client = _signup_and_link(app)
    if case == "tampered":
        link = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
        message = "not valid"
    elif case == "garbage":
        link = "/account/verify/%0d%0a%3Cscript%3E"
        message = "not valid"
    elif case == "expired":
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + 120)
        message = "expired"
    else:
        with app.app_context():
            user = db.session.scalar(select(User).where(User.email == "new@example.com"))
            user.email = "changed@example.com"
            db.session.commit()
        message = "no longer on any account"
    response = client.get(link)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User.email_verified_at).where(User.id == 1)) is None


def test_a_new_link_can_be_requested_and_is_limited(make_app):
    app = _email_app(make_app, SIGNUP_LIMIT_PER_ADDRESS="2 per hour")
    _link, client = _signup_and_link(app)  # the first of the two
    token = csrf_token_from(client.get("/account/teams").get_data(as_text=True))
    with mail.record_messages() as sent:
        assert client.post("/account/verify/resend", data={"csrf_token": token}).status_code == 302
        assert client.post("/account/verify/resend", data={"csrf_token": token}).status_code == 302
    assert len(sent) == 1 and sent[0].subject == "Confirm your email address"
    assert "Too many emails requested" in client.get("/account/teams").get_data(as_text=True)
    # The new link works.
    assert client.get(LINK_RE.search(sent[0].body).group(1)).status_code == 302
    with app.app_context():
        assert email_verification.is_verified(db.session.get(User, 1))


def test_an_unreachable_mail_server_does_not_break_sign_up(make_app, caplog):
    app = _email_app(make_app, MAIL_SUPPRESS_SEND=False, MAIL_SERVER="127.0.0.1", MAIL_PORT=9, MAIL_TIMEOUT=2)
    response = _signup(app.test_client())
    assert response.status_code == 302
    assert "could not send verify email" in caplog.text
    assert _user_count(app) == 1


# --- join-code attempts -------------------------------------------------------------------------


def _player(app, email):
    create_user(app, email, PLAYER_PASSWORD)
    client = app.test_client()
    assert _login(client, email, PLAYER_PASSWORD).status_code == 302
    return client


def test_wrong_join_codes_are_limited_per_account(make_app):
    app = make_app(JOIN_CODE_LIMIT_PER_ACCOUNT="3 per 15 minutes")
    code = _join_code(app)
    client = _player(app, PLAYER_EMAIL)
    assert [_join(client, "ABCD-EFGH-JKMN-PQRS").status_code for _ in range(3)] == [404, 404, 404]
    refused = _join(client, code)  # even the right code: the answer must not confirm a guess
    assert refused.status_code == 429
    assert "Too many wrong join codes from this account" in refused.get_data(as_text=True)
    # From another address the account is still limited; an admin unlock lifts it.
    assert app.test_cli_runner().invoke(args=["users", "unlock", PLAYER_EMAIL]).exit_code == 0
    assert _join(client, code).status_code == 302


def test_right_join_codes_do_not_count(make_app):
    app = make_app(JOIN_CODE_LIMIT_PER_ACCOUNT="2 per 15 minutes")
    code = _join_code(app)
    client = _player(app, PLAYER_EMAIL)
    for _ in range(4):
        assert _join(client, code).status_code == 302
    assert _join(client, "ABCD-EFGH-JKMN-PQRS").status_code == 404


def test_wrong_join_codes_are_limited_per_address(make_app):
    app = make_app(JOIN_CODE_LIMIT_PER_ADDRESS="4 per 15 minutes")
    _join_code(app)
    clients = [_player(app, f"p{i}@example.com") for i in range(3)]
    statuses = [_join(clients[i % 3], "hello there").status_code for i in range(5)]
    assert statuses == [400, 400, 400, 400, 429]
    assert "your network address" in _join(clients[0], "x").get_data(as_text=True)
