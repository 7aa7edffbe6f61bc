"""Issue 27, item 5: look-alike names. Invisible format characters (Unicode category Cf: zero-width
spaces, U+FEFF, bidi overrides) are refused in every name, and team names are unique after NFKC,
case folding and removing what is invisible."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.errors import ValidationError
from app.extensions import db
from app.models import Entry, Participant
from app.services.accounts.rules import check_display_name
from app.services.inputs.text import check_name, name_key
from app.services.tournaments import setup as tournament_setup
from tests import factories as f
from tests.web.api.test_registration_api import _h, _put_settings, setup  # noqa: F401  (fixture)

INVISIBLE = ["\u200b", "\ufeff", "\u202e", "\u202d", "\u2066", "\u00ad", "\u2060", "\u200e"]


@pytest.mark.parametrize("ch", INVISIBLE)
def test_every_name_refuses_format_characters(ch):
    for where in ("team_name", "tag", "name", "stage"):
        with pytest.raises(ValidationError, match=f"{where}: may not contain invisible formatting characters"):
            check_name(f"Fees{ch}Team", where)
    with pytest.raises(ValidationError, match="invisible formatting characters"):
        check_display_name(f"Ayesha{ch}")


def test_joiners_inside_a_word_outside_ascii_are_kept():
    assert check_name("র\u200d্যাব Rangers", "team_name")  # Bengali ra + ZWJ + virama (rya-phala)
    assert check_name("\U0001f468\u200d\U0001f469\u200d\U0001f467 Squad", "team_name")  # an emoji family
    for bad in ("Fees Te\u200dam", "\u200dFees", "Fees \u200cTeam", "ঢাকা\u200c"):
        with pytest.raises(ValidationError, match="invisible formatting characters"):
            check_name(bad, "team_name")


def test_name_key_sees_through_width_case_and_invisible_characters():
    assert name_key("Fees Team C") == name_key("ＦＥＥＳ team c") == name_key("Fees\u00a0 Team C\ufe0f")
    assert name_key("Fees Team C") != name_key("Fees Team D")


def test_the_api_refuses_look_alikes_of_a_registered_team(app, client, setup):  # noqa: F811
    base = f"/api/tournaments/{setup['tid']}"
    assert _put_settings(client, setup, capacity=5).status_code == 200
    first = client.post(
        f"{base}/registrations/", json={"team_name": "Fees Team C"}, headers=_h(setup["captains"][1]["token"])
    )
    assert first.status_code == 201
    second = _h(setup["captains"][2]["token"])
    for name in ("Fees Team\u200bC", "Fees Team C\ufeff", "\u202eC maeT seeF"):
        answer = client.post(f"{base}/registrations/", json={"team_name": name}, headers=second)
        assert answer.status_code == 400, name
        assert "invisible formatting characters" in answer.get_json()["error"]
    for name in ("ＦＥＥＳ Team C", "fees team c"):
        answer = client.post(f"{base}/registrations/", json={"team_name": name}, headers=second)
        assert answer.status_code == 409, name
        assert "already registered" in answer.get_json()["error"]
    tagged = client.post(
        f"{base}/registrations/", json={"team_name": "Other", "tag": "\u202eXD"}, headers=second
    ).get_json()
    assert "tag: may not contain invisible formatting characters" in tagged["error"]
    with app.app_context():
        assert [e.team_name for e in db.session.scalars(select(Entry))] == ["Fees Team C"]


def test_staff_and_files_refuse_look_alikes_too(app, staff_user, tmp_path):
    with app.app_context():
        t = f.br_tournament("look-cup", teams=())
        db.session.commit()
        tournament_setup.register_participants_csv(t.id, "Fees Team C", staff_user)
        with pytest.raises(ValidationError, match="already registered"):
            tournament_setup.register_participants_csv(t.id, "ＦＥＥＳ TEAM C", staff_user)
        with pytest.raises(ValidationError, match="invisible formatting characters"):
            tournament_setup.register_participants_csv(t.id, "Fees Team C\u200b", staff_user)
        assert db.session.scalar(select(db.func.count(Participant.id)).where(Participant.tournament_id == t.id)) == 1
    document = {
        "format": "deltacrown.tournament/v1",
        "tournament": {"name": "Look \u202eCup", "slug": "look-file", "game": "freefire"},
        "participants": [{"id": "a", "name": "A"}],
        "matches": [],
    }
    runner = app.test_cli_runner()
    path = tmp_path / "t.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = runner.invoke(args=["tournaments", "import", str(path)])
    assert result.exit_code == 1 and "tournament.name: may not contain invisible" in result.output
    document["tournament"]["name"] = "Look Cup"
    document["participants"] = [{"id": "a", "name": "Team A"}, {"id": "b", "name": "team\u00a0ａ"}]
    path.write_text(json.dumps(document), encoding="utf-8")
    result = runner.invoke(args=["tournaments", "import", str(path)])
    assert result.exit_code == 1 and "participants[1].name: duplicate name" in result.output
