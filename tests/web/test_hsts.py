"""Strict-Transport-Security in production over https, and only there (issue 14)."""

from __future__ import annotations

import pytest

from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, create_user
from tests.web.auth.test_auth_hardening import _login, _production_app, _set_cookie_headers

HSTS = "Strict-Transport-Security"


def _get(app, scheme="https", path="/login", **environ):
    return app.test_client().get(path, base_url=f"{scheme}://localhost/", environ_base=environ)


def test_production_over_https_sends_hsts_for_a_year_by_default(make_app):
    app = _production_app(make_app)
    assert _get(app).headers[HSTS] == "max-age=31536000"
    # Error pages and static files too: the header is for the host, whatever the page.
    response = _get(app, path="/no-such-page")
    assert response.status_code == 404 and response.headers[HSTS] == "max-age=31536000"


def test_max_age_is_configurable_and_zero_turns_it_off(make_app):
    assert _get(_production_app(make_app, HSTS_MAX_AGE=600)).headers[HSTS] == "max-age=600"
    assert HSTS not in _get(_production_app(make_app, HSTS_MAX_AGE=0)).headers


def test_plain_http_gets_no_hsts(make_app):
    assert HSTS not in _get(_production_app(make_app), scheme="http").headers


@pytest.mark.parametrize("mode", [{"DEBUG": True}, {"TESTING": True}])
def test_debug_and_tests_get_no_hsts(make_app, mode):
    app = make_app(SECRET_KEY="a-production-secret-" + "x" * 20, RATELIMIT_STORAGE_URI="memory://", **mode)
    assert HSTS not in _get(app).headers


def test_behind_a_trusted_proxy_the_forwarded_scheme_counts(make_app):
    app = _production_app(make_app, TRUSTED_PROXY_COUNT=1)
    forwarded = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_FOR": "203.0.113.5"}
    assert _get(app, scheme="http", **forwarded).headers[HSTS] == "max-age=31536000"
    # Without a trusted proxy a client cannot claim https.
    untrusted = _production_app(make_app)
    assert HSTS not in _get(untrusted, scheme="http", **forwarded).headers


def test_known_device_cookie_is_secure_and_http_only_in_production(make_app):
    app = _production_app(make_app)
    create_user(app, STAFF_EMAIL, STAFF_PASSWORD, staff=True)
    response = _login(app.test_client())
    (header,) = _set_cookie_headers(response, "dc_device")
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
