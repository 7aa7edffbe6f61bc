"""Issue 27, item 8: body errors say what is wrong. A chunked body over MAX_CONTENT_LENGTH is a 413
(not "not valid JSON"), a number too long to be meant names its field, and a key given twice is
refused with the key named (no silent last-wins)."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Match, RegistrationSettings
from tests.services.inputs.test_big_numbers import _file
from tests.web.api.test_registration_api import SETTINGS, _h, setup  # noqa: F401  (fixture)

LONG = "1" * 41


def _url(ctx) -> str:
    return f"/api/tournaments/{ctx['tid']}/registration/"


def _put(client, ctx, body: bytes, **kw):
    return client.put(_url(ctx), data=body, headers=_h(ctx["staff"]), content_type="application/json", **kw)


def test_a_chunked_body_over_the_limit_is_a_413(app, client, setup):  # noqa: F811
    big = json.dumps({**SETTINGS, "methods": [{"name": "x", "instructions": "y" * (2 * 1024 * 1024)}]}).encode()
    response = client.put(
        _url(setup),
        input_stream=io.BytesIO(big),
        headers={**_h(setup["staff"]), "Transfer-Encoding": "chunked"},
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert "error" in response.get_json()
    small = json.dumps(SETTINGS).encode()
    response = client.put(
        _url(setup),
        input_stream=io.BytesIO(small),
        headers={**_h(setup["staff"]), "Transfer-Encoding": "chunked"},
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count(RegistrationSettings.id))) == 1


def test_a_chunked_body_just_under_the_limit_is_read(app, client, setup):  # noqa: F811
    limit = app.config["MAX_CONTENT_LENGTH"] - 1  # werkzeug cannot tell a chunked body of exactly the limit
    body = json.dumps(SETTINGS).encode()
    body = body[:-1] + b" " * (limit - len(body)) + b"}"
    assert len(body) == limit
    response = client.put(
        _url(setup),
        input_stream=io.BytesIO(body),
        headers={**_h(setup["staff"]), "Transfer-Encoding": "chunked"},
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b'{"capacity": ' + LONG.encode() + b', "fee": {"amount": "0"}}', "capacity: a number of 41 digits"),
        (b'{"capacity": 2, "fee": {"amount": "0"}, "methods": [{"name": "x", "n": -' + LONG.encode() + b"}]}",
         "methods[0].n: a number of 41 digits"),
    ],
)  # fmt: skip
def test_a_too_long_number_names_its_field(app, client, setup, body, named):  # noqa: F811
    response = _put(client, setup, body)
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(named)


def test_a_key_given_twice_is_refused_naming_it(app, client, setup):  # noqa: F811
    response = _put(client, setup, b'{"capacity": 1, "fee": {"amount": "0"}, "capacity": 2}')
    assert response.status_code == 400
    assert response.get_json()["error"] == 'body: invalid JSON: the key "capacity" appears twice in one object'
    with app.app_context():
        assert db.session.scalar(select(func.count(RegistrationSettings.id))) == 0


def test_files_and_lobby_pastes_name_the_place_of_a_too_long_number(app, runner, tmp_path, staff_user):
    path = tmp_path / "long.json"
    path.write_bytes(_file(LONG))
    result = runner.invoke(args=["tournaments", "import", str(path)])
    assert result.exit_code == 1
    assert "matches[0].results[0].kills: a number of 41 digits is too long (at most 30)" in result.output
    response = app.test_client().post(
        "/api/tournaments/nope/matches/", data=b'{"a": 1, "a": 2}', content_type="application/json"
    )
    assert response.status_code in (401, 404)  # refused before any body is read
    with app.app_context():
        assert db.session.scalar(select(func.count(Match.id))) == 0
