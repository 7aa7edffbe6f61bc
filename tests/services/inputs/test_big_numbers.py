"""Numbers beyond Python's 4,300-digit conversion limit (and other digit tricks) are refused with
a message everywhere people type or upload them: never a 500 or a traceback (issue 14)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Match, Tournament
from app.services.inputs.numbers import json_int, parse_whole
from tests import factories

HUGE = "9" * 5000


def _text(response) -> str:
    return response.get_data(as_text=True)


def _file(number: str) -> bytes:
    return (
        '{"format": "deltacrown.tournament/v1", "tournament": {"name": "X", "slug": "x-cup", "game": "freefire"},'
        ' "participants": [{"id": "a", "name": "A"}], "matches": [{"key": "m1", "completed_at": '
        '"2025-01-01T00:00:00Z", "results": [{"participant": "a", "placement": 1, "kills": ' + number + "}]}]}"
    ).encode()


@pytest.fixture
def staff(client, auth, staff_user, app):
    with app.app_context():
        factories.br_tournament("ff-cup", preset="ffws", teams=("A", "B", "C", "D"))
        db.session.commit()
    auth.login()
    token = auth.csrf_token()

    def post(url, data=None, **kw):
        return client.post(url, data={"csrf_token": token, **(data or {})}, **kw)

    return post


def test_parse_whole_takes_ascii_digits_only_and_not_too_many():
    assert parse_whole("42") == 42
    assert parse_whole("-7", signed=True) == -7
    assert parse_whole("-7") is None
    assert parse_whole("٣") is None  # an Arabic-Indic three: int() would take it
    assert parse_whole(" 4") is None
    assert parse_whole(HUGE) is None
    assert parse_whole("1" * 9) == 111111111 and parse_whole("1" * 10) is None
    assert parse_whole("") is None and parse_whole(None) is None
    assert json_int("123") == 123
    with pytest.raises(Exception, match="5000 digits"):
        json_int(HUGE)


def test_staff_import_upload_of_a_huge_number_is_a_400(app, staff):
    response = staff("/staff/tournaments/import", {"file": (io.BytesIO(_file(HUGE)), "big.json")})
    assert response.status_code == 400
    assert "matches[0].results[0].kills: a number of 5000 digits is too long" in _text(response)
    with app.app_context():
        assert db.session.scalar(select(func.count(Tournament.id))) == 1  # only the fixture's


def test_lobby_paste_of_a_huge_number_is_a_400(app, staff):
    lobby = '{"results": [{"team": "A", "placement": 1, "kills": ' + HUGE + "}]}"
    response = staff("/staff/tournaments/ff-cup/lobbies/paste", {"paste": lobby})
    assert response.status_code == 400
    assert "a number of 5000 digits" in _text(response)
    csv = "team,placement,kills\nA,1," + HUGE + "\n"
    response = staff("/staff/tournaments/ff-cup/lobbies/paste", {"paste": csv})
    assert response.status_code in (200, 400)
    assert "kills: at most" in _text(response)
    with app.app_context():
        assert db.session.scalar(select(func.count(Match.id))) == 0


def test_lobby_grid_and_version_fields_with_huge_numbers(app, staff):
    data = {"stage": HUGE, "version": HUGE, "match_id": HUGE}
    for key in ("A", "B", "C", "D"):
        data[f"placement-{key}"] = HUGE
        data[f"kills-{key}"] = HUGE
    for url in ("/staff/tournaments/ff-cup/lobbies/check", "/staff/tournaments/ff-cup/lobbies/new"):
        response = staff(url, data)
        assert response.status_code < 500, url
        assert response.status_code in (200, 400)


def test_cli_import_of_a_huge_number_is_one_line(app, runner, tmp_path):
    path = tmp_path / "big.json"
    path.write_bytes(_file(HUGE))
    result = runner.invoke(args=["tournaments", "import", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "a number of 5000 digits" in lines[0]


def test_api_body_with_a_huge_number_is_a_400(app, staff, runner):
    from tests.conftest import STAFF_EMAIL

    token = runner.invoke(args=["users", "token", STAFF_EMAIL]).output.strip()
    body = '{"stage": 1, "results": [{"participant": "A", "placement": 1, "kills": ' + HUGE + "}]}"
    response = app.test_client().post(
        "/api/tournaments/ff-cup/matches/",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400, response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    [
        "/inbox?page=" + HUGE,
        "/embed/ff-cup?limit=00000" + HUGE,
        "/?page=" + HUGE,
        "/staff/audit?page=" + HUGE,
    ],
)
def test_page_and_limit_parameters_with_huge_numbers(app, staff, client, url):
    response = client.get(url)
    assert response.status_code in (200, 302, 400, 404), (url, response.status_code)
    assert "9999999999" not in _text(response)[:0]  # nothing echoed is needed; no 500 is the point


def test_series_best_of_with_a_huge_number_is_refused(app, staff):
    response = staff("/staff/tournaments/ff-cup/series/", {"key": "s1", "name": "S", "best_of": HUGE})
    assert response.status_code < 500


def test_whole_number_form_fields_refuse_huge_numbers(app, staff):
    response = staff("/staff/tournaments/ff-cup/adjustments", {"participant": "A", "points": "9" * 15, "reason": "x"})
    assert response.status_code == 400
    assert 'id="points-errors"><li>that number is far too large</li>' in _text(response)
