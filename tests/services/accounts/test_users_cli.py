"""`flask users ...` per contract §3."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken, User
from app.services.accounts.tokens import user_for_token
from tests.conftest import STAFF_EMAIL

PASSWORD = "a good long password"


def _create(runner, *args, password=PASSWORD + "\n"):
    return runner.invoke(args=["users", "create", *args], input=password)


def _user(app, email):
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == email)).one_or_none()
        if user is not None:
            db.session.expunge(user)
        return user


def _assert_clean_failure(result, fragment):
    assert result.exit_code == 1, result.output
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_create_player(app, runner):
    result = _create(runner, "new.player@example.com", "--password-stdin")
    assert result.exit_code == 0, result.output
    assert "new.player@example.com" in result.stdout
    user = _user(app, "new.player@example.com")
    assert user is not None
    assert (user.is_staff, user.is_admin, user.active) == (False, False, True)
    assert user.display_name == "new.player"
    assert user.check_password(PASSWORD)
    assert PASSWORD not in user.password_hash


def test_create_staff_admin_with_name_and_log_in(app, runner, client, auth):
    result = _create(runner, "Boss@Example.COM", "--staff", "--admin", "--name", "The Boss", "--password-stdin")
    assert result.exit_code == 0, result.output
    user = _user(app, "boss@example.com")
    assert (user.is_staff, user.is_admin, user.display_name) == (True, True, "The Boss")
    assert auth.login(email="boss@example.com", password=PASSWORD).status_code == 302
    assert client.get("/staff/").status_code == 200


def test_only_the_trailing_newline_is_stripped(app, runner):
    result = _create(runner, "spaces@example.com", "--password-stdin", password="  padded pw  \r\n")
    assert result.exit_code == 0, result.output
    assert _user(app, "spaces@example.com").check_password("  padded pw  ")


def test_create_requires_password_stdin(app, runner):
    result = _create(runner, "someone@example.com")
    _assert_clean_failure(result, "--password-stdin is required")
    assert _user(app, "someone@example.com") is None


@pytest.mark.parametrize("password", ["", "\n", "short\n", "1234567\n"])
def test_create_refuses_short_password(app, runner, password):
    result = _create(runner, "someone@example.com", "--password-stdin", password=password)
    _assert_clean_failure(result, "at least 8 characters")
    assert _user(app, "someone@example.com") is None


def test_create_refuses_multiline_password(app, runner):
    result = _create(runner, "someone@example.com", "--password-stdin", password="first line\nsecond line\n")
    _assert_clean_failure(result, "single line")


@pytest.mark.parametrize(
    "email",
    [
        "not-an-email",
        "@example.com",
        "user@",
        "user@localhost",
        "two@@example.com",
        "sp ace@example.com",
        "user@exa_mple.com",
        "user..dots@example.com",
        "user@-example.com",
        "a" * 250 + "@example.com",
    ],
)
def test_create_refuses_bad_email(app, runner, email):
    result = _create(runner, email, "--password-stdin")
    _assert_clean_failure(result, "not a valid email address")
    with app.app_context():
        assert db.session.scalars(select(User)).all() == []


def test_create_refuses_duplicate_email(app, runner, staff_user):
    result = _create(runner, "STAFF@example.com", "--password-stdin")
    _assert_clean_failure(result, f"a user with email {STAFF_EMAIL} already exists")
    with app.app_context():
        assert len(db.session.scalars(select(User)).all()) == 1


def test_token_is_printed_alone_and_works(app, runner, staff_user):
    result = runner.invoke(args=["users", "token", STAFF_EMAIL])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and result.stdout == lines[0] + "\n"
    raw = lines[0]
    assert raw.startswith("dc_")
    with app.app_context():
        token = db.session.scalars(select(ApiToken)).one()
        assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
        assert raw not in (token.token_hash, token.prefix)
        assert user_for_token(raw).id == staff_user


def test_token_for_unknown_email(app, runner):
    result = runner.invoke(args=["users", "token", "ghost@example.com"])
    _assert_clean_failure(result, "no user with email ghost@example.com")


def test_token_for_deactivated_user_is_refused(app, runner, staff_user):
    with app.app_context():
        db.session.get(User, staff_user).active = False
        db.session.commit()
    result = runner.invoke(args=["users", "token", STAFF_EMAIL])
    _assert_clean_failure(result, "deactivated")


def test_revoke_tokens(app, runner, staff_user):
    raw = runner.invoke(args=["users", "token", STAFF_EMAIL]).stdout.strip()
    result = runner.invoke(args=["users", "revoke-tokens", STAFF_EMAIL])
    assert result.exit_code == 0, result.output
    assert "revoked 1 token" in result.stdout
    with app.app_context():
        assert user_for_token(raw) is None


def test_list_users(app, runner, staff_user, player_user):
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["player@example.com\tplayer", "staff@example.com\tstaff"]
