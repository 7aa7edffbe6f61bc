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


# Everything else the app signs follows the same rule (app.signing).

OLD, NEW = "old-secret-key-for-rotation", "new-secret-key-for-rotation"


def _log_in_remembered(app) -> str:
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        data={
            "email": "staff@example.com",
            "password": "correct horse battery staple",
            "remember": "y",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    return client.get_cookie("remember_token").value


def test_a_remember_me_cookie_signed_with_the_old_key_still_logs_in_and_is_re_signed(make_app, staff_user):
    remember = _log_in_remembered(make_app(SECRET_KEY=OLD))
    rotated = make_app(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD])
    browser = rotated.test_client()  # a browser restarted: only the remember cookie is left
    browser.set_cookie("remember_token", remember)
    assert _staff_page_status(browser) == 200
    reissued = browser.get_cookie("remember_token").value
    assert reissued != remember  # signed again, under the new key
    # Once the old key is dropped, the re-issued cookie still works and the old one does not.
    dropped = make_app(SECRET_KEY=NEW)
    later = dropped.test_client()
    later.set_cookie("remember_token", reissued)
    assert _staff_page_status(later) == 200
    stale = dropped.test_client()
    stale.set_cookie("remember_token", remember)
    assert _staff_page_status(stale) in (302, 401, 403)


def test_a_remember_me_cookie_from_a_logged_out_session_stays_dead_under_a_fallback_key(make_app, staff_user):
    old = make_app(SECRET_KEY=OLD)
    remember = _log_in_remembered(old)
    with old.app_context():
        from app.extensions import db
        from app.models import User

        db.session.get(User, staff_user).session_version += 1  # logged out everywhere
        db.session.commit()
    browser = make_app(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD]).test_client()
    browser.set_cookie("remember_token", remember)
    assert _staff_page_status(browser) in (302, 401, 403)


def test_links_and_the_known_device_cookie_signed_with_the_old_key_still_verify(make_app, staff_user):
    from app.auth import devices
    from app.extensions import db
    from app.models import User
    from app.notifications.preferences import CATEGORIES, read_unsubscribe_token, unsubscribe_token
    from app.services.accounts import verification as email_verification

    old = make_app(SECRET_KEY=OLD)
    with old.test_request_context("/"):
        user = db.session.get(User, staff_user)
        unsubscribe = unsubscribe_token(user.id, next(iter(CATEGORIES)))
        verification = email_verification.make_token(user)
        response = old.response_class()
        devices.remember_device(response, user.id)
        device_cookie = response.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]

    rotated = make_app(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD])
    with rotated.test_request_context("/", headers={"Cookie": f"{devices.COOKIE_NAME}={device_cookie}"}):
        assert read_unsubscribe_token(unsubscribe)[0].id == staff_user
        assert email_verification.confirm(verification).id == staff_user
        assert devices.known_device(staff_user) is not None

    forgotten = make_app(SECRET_KEY=NEW)
    with forgotten.test_request_context("/", headers={"Cookie": f"{devices.COOKIE_NAME}={device_cookie}"}):
        with pytest.raises(Exception, match="not valid"):
            read_unsubscribe_token(unsubscribe)
        with pytest.raises(Exception, match="not valid"):
            email_verification.confirm(verification)
        assert devices.known_device(staff_user) is None
