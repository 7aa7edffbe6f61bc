"""Rotating SECRET_KEY without logging everyone out: the old key stays in SECRET_KEY_FALLBACKS
for a while, sessions it signed still open, and they are re-signed with the new key."""

from __future__ import annotations

import pytest

from app.config import ConfigError, from_environment
from tests.conftest import csrf_token_from


def _staff_page_status(client) -> int:
    return client.get("/staff/").status_code


def test_a_session_signed_with_the_old_key_still_works_after_rotation(make_app, staff_user, auth):
    old = make_app(SECRET_KEY="old-secret-key")
    client = old.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    login = client.post(
        "/login", data={"email": "staff@example.com", "password": "correct horse battery staple", "csrf_token": token}
    )
    assert login.status_code == 302
    cookie = client.get_cookie("session").value

    rotated = make_app(SECRET_KEY="new-secret-key", SECRET_KEY_FALLBACKS=["old-secret-key"])
    browser = rotated.test_client()
    browser.set_cookie("session", cookie)
    assert _staff_page_status(browser) == 200
    # Without the fallback, the same cookie is a stranger's.
    forgotten = make_app(SECRET_KEY="new-secret-key").test_client()
    forgotten.set_cookie("session", cookie)
    assert _staff_page_status(forgotten) in (302, 401, 403)


def test_fallback_keys_come_from_the_environment_comma_separated():
    found = from_environment({"SECRET_KEY_FALLBACKS": " old-one , older-two ,"})
    assert found["SECRET_KEY_FALLBACKS"] == ["old-one", "older-two"]


def test_the_published_development_key_is_refused_as_a_fallback(make_app):
    with pytest.raises(ConfigError, match="SECRET_KEY_FALLBACKS"):
        make_app(
            TESTING=False,
            RATELIMIT_STORAGE_URI="memory://",
            SECRET_KEY="x" * 40,
            SECRET_KEY_FALLBACKS=["dev-insecure-secret-key"],
        )
