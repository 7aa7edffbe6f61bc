"""Every refused name form at the entry points tests/services/inputs/test_control_characters.py does not cover
(issue 14): a team's name and tag at registration (the API and the player portal), a team's
rename in organisers' corrections (the staff portal; there is no API rename), and a lobby's stage
in the staff portal (new lobby and correction) and the API's correction. Each value of BAD is a
4xx whose message names the field, and the database is exactly as it was."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

import tests.factories as f
from app.extensions import db
from app.models import AuditEvent, Entry, Match, MatchResult, Participant, Tournament
from app.notifications.models import OutboxEvent
from app.services.accounts.tokens import create_token
from tests.services.inputs.test_control_characters import BAD
from tests.web.api.test_registration_api import _h, _put_settings
from tests.web.api.test_registration_api import setup as setup  # noqa: F401  (fixture)
from tests.web.players.test_registration_portal import Browser, text
from tests.web.staff.test_staff_lobby import edit_data, grid
from tests.web.staff.test_staff_tournament import Staff

# Tags are at most 20 characters: the same values cut short (each keeps its control character),
# so the refusal is the rule's and not the length limit's.
BAD_TAGS = [bad[:12] for bad in BAD]
RULE = "may not contain line breaks"


def test_the_tags_still_hold_their_control_characters():
    from app.services.inputs.text import control_character

    assert all(control_character(tag) is not None for tag in BAD_TAGS)


def snapshot(app) -> dict[str, list]:
    """Everything a refused name could have touched: entries, teams, lobbies, the audit log and
    the outbox (a registration emits an event)."""
    with app.app_context():
        state = {
            "entries": db.session.execute(select(Entry.id, Entry.team_name, Entry.tag, Entry.status)).all(),
            "participants": db.session.execute(select(Participant.id, Participant.name, Participant.tag)).all(),
            "matches": db.session.execute(select(Match.id, Match.stage, Match.version)).all(),
            "results": db.session.execute(
                select(MatchResult.match_id, MatchResult.participant_id, MatchResult.placement, MatchResult.kills)
            ).all(),
            "audit": db.session.scalars(select(AuditEvent.id)).all(),
            "outbox": db.session.scalars(select(OutboxEvent.id)).all(),
            "tournaments": db.session.execute(select(Tournament.id, Tournament.name, Tournament.stages)).all(),
        }
        db.session.remove()
    return {key: sorted(tuple(row) if not isinstance(row, int) else row for row in rows) for key, rows in state.items()}


def _error(response) -> str:
    return response.get_json()["error"]


# --------------------------------------------------------------------------- registration API


@pytest.fixture
def open_api(app, client, setup):  # noqa: F811
    assert _put_settings(client, setup, capacity=8).status_code == 200
    return setup


@pytest.mark.parametrize("bad", BAD)
def test_api_registration_refuses_a_team_name_with_control_characters(app, client, open_api, bad):
    before = snapshot(app)
    url = f"/api/tournaments/{open_api['tid']}/registrations/"
    response = client.post(url, json={"team_name": bad}, headers=_h(open_api["captains"][1]["token"]))
    assert response.status_code == 400, response.get_data(as_text=True)
    assert _error(response).startswith(f"team_name: {RULE}")
    assert snapshot(app) == before
    # The same captain registers a clean name at once: the refusal left nothing half-done.
    clean = client.post(url, json={"team_name": "Clean Name"}, headers=_h(open_api["captains"][1]["token"]))
    assert clean.status_code == 201


@pytest.mark.parametrize("bad", BAD_TAGS)
def test_api_registration_refuses_a_tag_with_control_characters(app, client, open_api, bad):
    before = snapshot(app)
    url = f"/api/tournaments/{open_api['tid']}/registrations/"
    response = client.post(
        url, json={"team_name": "Team Tag", "tag": bad}, headers=_h(open_api["captains"][2]["token"])
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert _error(response).startswith(f"tag: {RULE}")
    assert snapshot(app) == before


# --------------------------------------------------------------------------- player portal


@pytest.fixture
def captain(app, client, open_api):
    return Browser(app, "cap3@example.com", "password 12345")


@pytest.mark.parametrize(("field", "bad"), [("team_name", b) for b in BAD] + [("tag", b) for b in BAD_TAGS])
def test_portal_registration_refuses_control_characters(app, open_api, captain, field, bad):
    before = snapshot(app)
    data = {"team_name": "Portal Team", "tag": "PT", field: bad}
    response = captain.post("/tournaments/reg-cup/register", data)
    assert response.status_code == 400, text(response)
    alert = re.search(r'id="register-error">([^<]*)<', text(response))
    assert alert is not None and alert.group(1).startswith(f"{field}: {RULE}"), text(response)
    assert snapshot(app) == before
    assert captain.post("/tournaments/reg-cup/register", {"team_name": "Portal Team"}).status_code == 302


# --------------------------------------------------------------------------- staff portal: corrections


@pytest.fixture
def cup(app):
    with app.app_context():
        t = f.br_tournament("ff-cup", preset="ffws", teams=("A", "B", "C", "D"))
        match = f.lobby(t, [("A", 1, 5), ("B", 2, 3), ("C", 3, 0)], stage="Day 1")
        db.session.commit()
        return {"id": t.id, "match": match.id}


@pytest.fixture
def staff(client, auth, staff_user, cup):
    auth.login()
    return Staff(client, auth.csrf_token())


URL = "/staff/tournaments/ff-cup"


def _field_errors(html: str, field: str) -> str:
    found = re.search(rf'id="{field}-errors">(.*?)</ul>', html, re.S)
    return found.group(1) if found else ""


@pytest.mark.parametrize(("field", "bad"), [("name", b) for b in BAD] + [("tag", b) for b in BAD_TAGS])
def test_staff_rename_refuses_control_characters(app, staff, field, bad):
    before = snapshot(app)
    data = {"name": "Phoenix Esports", "tag": "PHX", field: bad}
    response = staff.post(f"{URL}/participants/A/edit", data)
    assert response.status_code == 400, text(response)
    # The message sits next to the field it is about.
    assert RULE in _field_errors(text(response), field), text(response)
    assert snapshot(app) == before
    assert staff.post(f"{URL}/participants/A/edit", {"name": "Phoenix Esports", "tag": "PHX"}).status_code == 302


# --------------------------------------------------------------------------- lobby stage


@pytest.mark.parametrize("bad", BAD)
def test_staff_new_lobby_refuses_a_stage_with_control_characters(app, staff, bad):
    before = snapshot(app)
    response = staff.post(f"{URL}/lobbies/new", grid({"A": ("1", "2"), "B": ("2", "0")}, stage=bad))
    assert response.status_code == 400, text(response)
    assert f"stage: {RULE}" in text(response)
    assert snapshot(app) == before
    assert staff.post(f"{URL}/lobbies/new", grid({"A": ("1", "2"), "B": ("2", "0")})).status_code == 302


@pytest.mark.parametrize("bad", BAD)
def test_staff_lobby_correction_refuses_a_stage_with_control_characters(app, staff, cup, bad):
    page = text(staff.get(f"{URL}/lobbies/{cup['match']}/edit"))
    before = snapshot(app)
    data = edit_data(page, {"A": ("2", "5"), "B": ("1", "3"), "C": ("3", "0")}) | {"stage": bad}
    response = staff.post(f"{URL}/lobbies/{cup['match']}/edit", data)
    assert response.status_code == 400, text(response)
    assert f"stage: {RULE}" in text(response)
    assert snapshot(app) == before


@pytest.mark.parametrize("bad", BAD)
def test_api_lobby_post_and_correction_refuse_a_stage_with_control_characters(app, client, staff_user, cup, bad):
    with app.app_context():
        token = create_token(staff_user)
    before = snapshot(app)
    results = [{"participant": "A", "placement": 1, "kills": 1}, {"participant": "B", "placement": 2, "kills": 0}]
    posted = client.post("/api/tournaments/ff-cup/matches/", json={"stage": bad, "results": results}, headers=_h(token))
    # The API names the body's field (match.stage).
    assert posted.status_code == 400 and f"stage: {RULE}" in _error(posted), posted.get_data(as_text=True)
    corrected = client.put(
        f"/api/tournaments/ff-cup/matches/{cup['match']}/results/",
        json={"stage": bad, "results": results},
        headers=_h(token),
    )
    assert corrected.status_code == 400, corrected.get_data(as_text=True)
    assert _error(corrected).startswith(f"stage: {RULE}")
    assert snapshot(app) == before


# --------------------------------------------------------------------------- staff portal: new teams, series


@pytest.mark.parametrize(("field", "bad"), [("name", b) for b in BAD] + [("tag", b) for b in BAD_TAGS])
def test_staff_add_team_refuses_control_characters_even_at_the_end(app, staff, field, bad):
    """tests/services/inputs/test_control_characters.py covers this form with characters inside the name; a
    trailing U+0085 or U+2028 was trimmed away as if it were a space and the team added."""
    before = snapshot(app)
    data = {"name": "Team X", "key": "x", "tag": "TX", field: bad}
    response = staff.post(f"{URL}/participants", data)
    assert response.status_code == 400, text(response)
    assert RULE in _field_errors(text(response), field), text(response)
    assert snapshot(app) == before


@pytest.mark.parametrize("bad", BAD)
def test_staff_series_refuses_a_name_with_control_characters_even_at_the_end(app, staff, bad):
    with app.app_context():
        f.series_tournament("val-cup", teams=("A", "B"))
        db.session.commit()
    before = snapshot(app)
    data = {"key": "sf1", "name": bad, "best_of": "3", "participant_a": "A", "participant_b": "B"}
    response = staff.post("/staff/tournaments/val-cup/series/", data)
    assert response.status_code == 400, text(response)
    assert RULE in _field_errors(text(response), "name"), text(response)
    assert snapshot(app) == before


@pytest.mark.parametrize("bad", [b for b in BAD if "\n" not in b and "\r" not in b])
def test_staff_pasted_team_list_refuses_control_characters_even_at_the_end(app, staff, bad):
    """The pasted list trimmed each cell with str.strip(), which also dropped a trailing U+0085
    or U+2028; only spaces and tabs around a cell are trimmed now. (CR/LF end a pasted line.)"""
    before = snapshot(app)
    response = staff.post(f"{URL}/participants/paste", {"participants": f"Team Good,good\n{bad},bad-one"})
    assert response.status_code == 400, text(response)
    assert RULE in text(response), text(response)
    assert snapshot(app) == before
