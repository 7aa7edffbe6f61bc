"""Names with CR/LF or other control characters are refused wherever they come in, with one rule;
the mail path and the CLI cope with names stored before the rule (issue 14)."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

import tests.factories as f
from app.extensions import db
from app.models import Participant, Series, Tournament, User
from app.notifications import email as notification_email
from app.notifications.models import Delivery
from app.notifications.outcome import OutcomeKind
from app.services.inputs.text import check_name, control_character, printable
from tests.conftest import STAFF_EMAIL
from tests.notifications.test_email import _emit
from tests.notifications.test_email import world as world  # noqa: F401  (fixture)

BAD = ["Cup\r\nBcc: victim@example.com", "Cup\nTwo", "Tab\there", "Esc\x1b[31m", "Del\x7f", "C1\x85", "Sep\u2028"]


def _doc(**changes) -> dict:
    doc = {
        "format": "deltacrown.tournament/v1",
        "tournament": {"name": "Good Cup", "slug": "good-cup", "game": "freefire"},
        "participants": [{"id": "a", "name": "Alpha", "tag": "AL"}, {"id": "b", "name": "Bravo"}],
        "matches": [
            {
                "key": "m1",
                "stage": "Day 1",
                "completed_at": "2025-01-01T00:00:00Z",
                "results": [
                    {"participant": "a", "placement": 1, "kills": 2},
                    {"participant": "b", "placement": 2, "kills": 0},
                ],
            }
        ],
    }
    for path, value in changes.items():
        target = doc
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value
    return doc


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


@pytest.mark.parametrize("bad", BAD)
def test_the_rule(bad):
    assert control_character(bad) is not None
    with pytest.raises(Exception, match="may not contain line breaks"):
        check_name(bad, "name")
    assert check_name("Équipe Ñandú 東京 🏆", "name") == "Équipe Ñandú 東京 🏆"
    assert "\r" not in printable(bad) and "\n" not in printable(bad) and "\x1b" not in printable(bad)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("tournament.name", "tournament.name: may not contain line breaks"),
        ("participants.0.name", "participants[0].name: may not contain line breaks"),
        ("participants.0.tag", "participants[0].tag: may not contain line breaks"),
        ("matches.0.stage", "stage: may not contain line breaks"),
    ],
)
def test_tournament_file_refuses_control_characters_in_names(app, runner, tmp_path, path, message):
    file = tmp_path / "t.json"
    file.write_text(json.dumps(_doc(**{path: "Bad\r\nName"})))
    result = runner.invoke(args=["tournaments", "import", str(file)])
    assert result.exit_code == 1
    assert message in result.output and "(found U+000D)" in result.output
    assert "Traceback" not in result.output
    assert _count(app, Tournament) == 0
    # The clean file imports.
    file.write_text(json.dumps(_doc()))
    assert runner.invoke(args=["tournaments", "import", str(file)]).exit_code == 0


def test_series_name_in_a_file_is_checked(app, runner, tmp_path):
    doc = _doc()
    doc["tournament"]["game"] = "valorant"
    doc["matches"] = []
    doc["series"] = [{"key": "gf", "name": "Grand\nFinal", "best_of": 3, "participants": ["a", "b"], "games": []}]
    file = tmp_path / "s.json"
    file.write_text(json.dumps(doc))
    result = runner.invoke(args=["tournaments", "import", str(file)])
    assert result.exit_code == 1
    assert "may not contain line breaks" in result.output
    assert _count(app, Series) == 0


@pytest.fixture
def staff(client, auth, staff_user, app):
    with app.app_context():
        f.br_tournament("ff-cup", preset="ffws", teams=("A", "B"))
        f.series_tournament("val-cup", teams=("A", "B"))
        db.session.commit()
    auth.login()
    token = auth.csrf_token()

    def post(url, data=None, **kw):
        return client.post(url, data={"csrf_token": token, **(data or {})}, **kw)

    return post


def test_portal_upload_refuses_control_characters(app, staff):
    body = json.dumps(_doc(**{"tournament.name": "Cup\r\nBcc: x"})).encode()
    response = staff("/staff/tournaments/import", {"file": (io.BytesIO(body), "t.json")})
    assert response.status_code == 400
    assert "tournament.name: may not contain line breaks" in response.get_data(as_text=True)


def test_portal_forms_refuse_control_characters(app, staff):
    before = _count(app, Tournament), _count(app, Participant), _count(app, Series)
    new = staff("/staff/tournaments/new", {"name": "New\rCup", "slug": "new-cup", "game": "freefire"})
    assert new.status_code == 400 and "may not contain line breaks" in new.get_data(as_text=True)
    edit = staff("/staff/tournaments/ff-cup/edit", {"name": "FF\x1bCup", "slug": "ff-cup", "game": "freefire"})
    assert edit.status_code == 400 and "may not contain line breaks" in edit.get_data(as_text=True)
    stages = staff(
        "/staff/tournaments/ff-cup/edit",
        {"name": "FF Cup", "slug": "ff-cup", "game": "freefire", "stages": "Day\t1\nDay 2"},
    )
    assert stages.status_code == 400
    assert 'id="stages-errors"><li>may not contain line breaks' in stages.get_data(as_text=True)
    team = staff("/staff/tournaments/ff-cup/participants", {"name": "Team\u2028X", "key": "x"})
    assert team.status_code == 400 and "may not contain line breaks" in team.get_data(as_text=True)
    tag = staff("/staff/tournaments/ff-cup/participants", {"name": "Team X", "key": "x", "tag": "T\x07"})
    assert tag.status_code == 400 and "control characters (found U+0007)" in tag.get_data(as_text=True)
    pasted = staff("/staff/tournaments/ff-cup/participants/paste", {"participants": "Team\x0bX,x,TX\n"})
    assert pasted.status_code == 400 and "(found U+000B)" in pasted.get_data(as_text=True)
    series = staff(
        "/staff/tournaments/val-cup/series/",
        {"key": "sf1", "name": "Semi\r\nFinal", "best_of": "3", "participant_a": "A", "participant_b": "B"},
    )
    assert series.status_code == 400 and "may not contain line breaks" in series.get_data(as_text=True)
    assert (_count(app, Tournament), _count(app, Participant), _count(app, Series)) == before
    with app.app_context():
        assert db.session.scalar(select(Tournament.name).where(Tournament.slug == "ff-cup")) != "FF\x1bCup"


def test_api_refuses_a_stage_with_a_line_break(app, staff, runner):
    token = runner.invoke(args=["users", "token", STAFF_EMAIL]).output.strip()
    body = {
        "stage": "Day 1\r\nX-Injected: 1",
        "results": [{"participant": "A", "placement": 1, "kills": 1}, {"participant": "B", "placement": 2, "kills": 0}],
    }
    response = app.test_client().post(
        "/api/tournaments/ff-cup/matches/", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    assert "may not contain line breaks" in response.get_data(as_text=True)


def test_display_names_are_checked_at_sign_up_portal_and_cli(app, runner):
    from tests.web.auth.test_signup_hardening import _signup

    client = app.test_client()
    token = client.get("/signup")
    assert token.status_code == 200
    response = _signup(client, email="x@example.com", environ_base={})
    assert response.status_code == 302
    from tests.conftest import csrf_token_from

    page = client.get("/signup").get_data(as_text=True)
    bad = client.post(
        "/signup",
        data={
            "csrf_token": csrf_token_from(page),
            "email": "y@example.com",
            "display_name": "Nadia\r\nBcc: x",
            "password": "a good password",
            "confirm": "a good password",
        },
    )
    assert bad.status_code == 400 and "display name: may not contain" in bad.get_data(as_text=True)
    result = runner.invoke(
        args=["users", "create", "z@example.com", "--name", "Z\x1b[2J", "--password-stdin"], input="a good password\n"
    )
    assert result.exit_code == 1 and "name: may not contain" in result.output and "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1


def test_a_name_stored_before_the_rule_makes_the_email_give_up_not_crash(app, world):  # noqa: F811
    with app.app_context():
        tournament = db.session.get(Tournament, world["tournament"])
        tournament.name = "Dhaka\r\nBcc: victim@example.com"  # as an old row may hold
        db.session.commit()
    app.config["NOTIFICATIONS_EMAIL_ENABLED"] = True
    app.config["PUBLIC_BASE_URL"] = "https://leaderboards.example.org"
    deliveries = _emit(app, world, "tournament.completed")  # subject: "Final results: <name>"
    with app.app_context():
        outcome = notification_email.deliver(db.session.get(Delivery, deliveries[world["A"]]))
    assert outcome.kind is OutcomeKind.GIVE_UP
    assert "header with a line break" in outcome.detail and "\n" not in outcome.detail


def test_join_code_cli_prints_no_raw_control_characters(app, runner):
    with app.app_context():
        t = f.br_tournament("old-cup", teams=("A",))
        f.participant(t, "A").name = "Old\r\nName\x1b[2J"  # stored before the rule
        db.session.commit()
    result = runner.invoke(args=["players", "join-code", "old-cup"])
    assert result.exit_code == 0, result.output
    assert "\r" not in result.output and "\x1b" not in result.output
    assert result.output.count("\n") == 1
    assert "Old\\r\\nName\\x1b[2J" in result.output


def test_the_openapi_document_states_the_name_rule_for_stages(client):
    import re

    from app.services.inputs.fieldspec import NAME_PATTERN

    patterns, stack = set(), [client.get("/api/openapi.json").get_json()]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            patterns.add(item.get("pattern"))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    assert NAME_PATTERN in patterns
    pattern = re.compile(NAME_PATTERN)
    assert pattern.match("Day 1") and pattern.match("Ñandú 東京 🏆")
    for bad in BAD + ["", "   "]:
        assert not pattern.match(bad), repr(bad)
