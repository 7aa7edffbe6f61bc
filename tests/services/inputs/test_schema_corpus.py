"""The generated schemas accept exactly what the server accepts, on a corpus of good and bad
bodies: the published tournament-file schema against the importer (the published examples,
generated valid files, and every refusal case of tests/services/tournaments/test_tournament_file.py: each rule broken
once), and the OpenAPI request schemas against the live API (crafted bodies breaking each rule
once). A rule JSON Schema cannot state is listed in a BEYOND_SCHEMA table with the reason; for
those the schema must accept and the server refuse, so a rule that becomes expressible (or a
schema that starts refusing for the wrong reason) fails here."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings

from app.errors import ValidationError
from app.extensions import db
from app.models import Match, PointAdjustment
from app.services.accounts.tokens import create_token
from app.services.inputs import fieldspec
from app.services.inputs.text import MAX_JSON_DEPTH
from app.services.standings.leaderboard import LeaderboardService
from app.services.tournaments import file as tf
from tests import factories as f
from tests.conftest import create_user
from tests.services.tournaments.test_tournament_file import INVALID, br_documents, build
from tests.web.api.test_registration_api import SETTINGS, _put_settings


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    checker = jsonschema.FormatChecker()
    for name, check in fieldspec.FORMATS.items():
        checker.checks(name)(check)
    return jsonschema.Draft202012Validator(schema, format_checker=checker)


FILE_SCHEMA = _validator(tf.json_schema())


def _importer_accepts(doc: object) -> bool:
    try:
        tf.validate_document(doc)  # outside an app context: no slug-in-use lookup
    except ValidationError:
        return False
    return True


# --------------------------------------------------------------------------- the file

# Refusal cases (ids from tests/services/tournaments/test_tournament_file.py) whose rule JSON Schema cannot state.
FILE_BEYOND_SCHEMA = {
    "participant-id-duplicate": "unique ids across objects",
    "participant-name-duplicate-case": "names unique ignoring case",
    "match-key-duplicate": "keys unique across lobbies and games",
    "game-key-shared": "keys unique across lobbies and games",
    "series-key-duplicate": "series keys unique",
    "result-undeclared": "a reference to a declared participant",
    "result-participant-twice": "one participant per lobby (a property unique across items)",
    "placement-duplicate": "distinct placements (a property unique across items)",
    "adjustment-undeclared": "a reference to a declared participant",
    "series-undeclared": "a reference to a declared participant",
    "forfeit-outsider": "one of this series' participants",
    "game-after-decided": "counting wins across games",
    "time-impossible-date": "calendar dates (February 30)",
    "placement-float": "JSON Schema counts 1.0 as an integer; the file wants integers without a fraction",
    "game-winner-outsider": "one of this series' participants",
    "completed-game-no-winner-uneven": "a draw's scores are equal",
    "winner-with-lower-score": "the winner has the higher score",
    "winner-with-equal-score": "the winner has the higher score",
}


def _case_ids() -> list[str]:
    return [p.id for p in INVALID]


@pytest.mark.parametrize(("base", "change", "place", "fragment"), INVALID)
def test_file_schema_refuses_each_broken_rule(request, examples_dir, base, change, place, fragment):
    case_id = request.node.callspec.id
    doc = change(build(examples_dir, base))
    assert not _importer_accepts(doc)
    errors = [e.message for e in FILE_SCHEMA.iter_errors(doc)]
    beyond = FILE_BEYOND_SCHEMA.get(case_id)
    if beyond is None:
        assert errors, f"{case_id}: the importer refuses ({place}) but the schema accepts"
    else:
        assert errors == [], f"{case_id} is listed as beyond JSON Schema ({beyond}) but the schema refuses it"


def test_beyond_schema_table_names_real_cases():
    ids = _case_ids()
    for key in FILE_BEYOND_SCHEMA:
        assert key in ids, key


@pytest.mark.parametrize("name", ["ff-weekly-cup", "pmcs-group-a", "val-campus-playoffs"])
def test_file_schema_accepts_the_examples(examples_dir, name):
    doc = build(examples_dir, name)
    assert _importer_accepts(doc)
    assert FILE_SCHEMA.is_valid(doc)


def _good_variants(examples_dir: str) -> list[dict[str, Any]]:
    custom = build(examples_dir, "br")
    custom["tournament"]["scoring"] = {
        "preset": "custom",
        "placement_points": [10, 6, 0],
        "kill_points": 2,
        "tiebreakers": ["wins", "total_kills"],
    }
    nulls = build(examples_dir, "br")
    nulls["tournament"].update(advancing=None, scoring=None)
    nulls["matches"][0].update(stage=None)
    nulls["participants"][0]["tag"] = None
    nulls["adjustments"] = None
    spaced = build(examples_dir, "br")
    spaced["matches"][0]["completed_at"] = "2025-11-13 14:00+06:00"
    spaced["participants"][0]["name"] = "  Team\u00a0😀  "
    done = build(examples_dir, "br")
    done["tournament"]["status"] = "completed"
    series = build(examples_dir, "val-campus-playoffs")
    series["matches"] = []  # an empty list of the other kind is accepted
    draw = build(examples_dir, "val-campus-playoffs")
    draw["series"][0]["games"] = [
        {"key": "d1", "state": "completed", "completed_at": "2025-11-13T14:00:00Z", "winner": None, "score": None}
    ]
    draw["series"][0]["games"][0]["score"] = dict.fromkeys(draw["series"][0]["participants"], 6)
    return [custom, nulls, spaced, done, series, draw]


def test_file_schema_accepts_crafted_good_files(examples_dir):
    for i, doc in enumerate(_good_variants(examples_dir)):
        assert _importer_accepts(doc), i
        assert [e.message for e in FILE_SCHEMA.iter_errors(doc)] == [], i


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(br_documents())
def test_file_schema_accepts_generated_valid_files(doc):
    assert _importer_accepts(doc)
    assert [e.message for e in FILE_SCHEMA.iter_errors(doc)] == []


# --------------------------------------------------------------------------- the API

NUL, LONE = "a\x00b", "a\udc80b"
# (operation, body, accepted?) with the operation as (method, path template). Rejected bodies
# break one rule each; `None` in place of accepted marks a body the schema cannot judge (listed
# with its reason in API_BEYOND_SCHEMA).
OVERRIDE = ("post", "/api/tournaments/{ref}/override-placement/")
CLEAR = ("delete", "/api/tournaments/{ref}/override-placement/")
LOBBY = ("post", "/api/tournaments/{ref}/matches/")
STATE = ("post", "/api/tournaments/{ref}/matches/{match_id}/state/")
CORRECT = ("put", "/api/tournaments/{ref}/matches/{match_id}/results/")
VOID = ("post", "/api/tournaments/{ref}/matches/{match_id}/void/")
RESTORE = ("post", "/api/tournaments/{ref}/matches/{match_id}/restore/")
ADJUST = ("post", "/api/tournaments/{ref}/adjustments/")
EDIT = ("patch", "/api/tournaments/{ref}/adjustments/{adjustment_id}/")
DELETE = ("delete", "/api/tournaments/{ref}/adjustments/{adjustment_id}/")

R = [{"participant": "A", "placement": 1, "kills": 2}]
REASON = "Appeal upheld after review"
API_CORPUS: list[tuple[str, tuple[str, str], Any, bool]] = [
    # override (completed tournament)
    ("override-ok", OVERRIDE, {"participant_id": "B", "new_rank": 1, "reason": REASON}, True),
    ("override-extra-key", OVERRIDE, {"participant_id": "B", "new_rank": 1, "reason": REASON, "note": [1]}, True),
    ("override-reason-10", OVERRIDE, {"participant_id": "B", "new_rank": 1, "reason": "  0123456789 "}, True),
    ("override-reason-9", OVERRIDE, {"participant_id": "B", "new_rank": 1, "reason": " 012345678  "}, False),
    ("override-reason-long", OVERRIDE, {"participant_id": "B", "new_rank": 1, "reason": "r" * 501}, False),
    ("override-reason-nul", OVERRIDE, {"participant_id": "B", "new_rank": 1, "reason": REASON + "\x00"}, False),
    ("override-reason-lone", OVERRIDE, {"participant_id": "B", "new_rank": 1, "reason": REASON + "\udc80"}, False),
    ("override-reason-missing", OVERRIDE, {"participant_id": "B", "new_rank": 1}, False),
    ("override-rank-0", OVERRIDE, {"participant_id": "B", "new_rank": 0, "reason": REASON}, False),
    ("override-rank-text", OVERRIDE, {"participant_id": "B", "new_rank": "1", "reason": REASON}, False),
    ("override-rank-missing", OVERRIDE, {"participant_id": "B", "reason": REASON}, False),
    ("override-participant-empty", OVERRIDE, {"participant_id": "", "new_rank": 1, "reason": REASON}, False),
    ("override-extra-nul", OVERRIDE, {"participant_id": "B", "new_rank": 1, "reason": REASON, "x": NUL}, False),
    ("override-extra-lone", OVERRIDE, {"participant_id": "B", "new_rank": 1, "reason": REASON, "x": [LONE]}, None),
    ("override-deep-nul", OVERRIDE, {"participant_id": "B", "new_rank": 1, "reason": REASON, "x": {"y": NUL}}, None),
    ("override-extra-lone-top", OVERRIDE, {"participant_id": "B", "new_rank": 1, "reason": REASON, "x": LONE}, False),
    ("override-extra-key-nul", OVERRIDE, {"participant_id": "B", "new_rank": 1, "reason": REASON, NUL: 1}, False),
    ("override-deep", OVERRIDE, {"participant_id": "B", "new_rank": 1, "reason": REASON, "x": "DEEPEST"}, True),
    ("override-too-deep", OVERRIDE, {"participant_id": "B", "new_rank": 1, "reason": REASON, "x": "DEEP"}, None),
    ("override-rank-past-n", OVERRIDE, {"participant_id": "B", "new_rank": 9, "reason": REASON}, None),
    ("clear-ok", CLEAR, {"participant_id": "B", "reason": REASON}, True),
    ("clear-reason-short", CLEAR, {"participant_id": "B", "reason": "short"}, False),
    # one lobby (live tournament)
    ("lobby-ok", LOBBY, {"results": R}, True),
    ("lobby-all-fields", LOBBY, {"key": "k9", "stage": "Day 2", "state": "completed", "results": R}, True),
    ("lobby-scheduled", LOBBY, {"key": "s1", "state": "scheduled"}, True),
    ("lobby-cancelled-time", LOBBY, {"state": "cancelled", "completed_at": "2025-11-13T14:00:00+06:00"}, True),
    ("lobby-nulls", LOBBY, {"key": None, "stage": None, "completed_at": None, "results": R}, True),
    ("lobby-float-placement", LOBBY, {"results": [{"participant": "A", "placement": 1.0, "kills": 0}]}, True),
    ("lobby-key-empty", LOBBY, {"key": "", "results": R}, False),
    ("lobby-key-blank", LOBBY, {"key": " \t", "results": R}, False),
    ("lobby-key-long", LOBBY, {"key": "k" * 81, "results": R}, False),
    ("lobby-key-nul", LOBBY, {"key": NUL, "results": R}, False),
    ("lobby-key-lone", LOBBY, {"key": LONE, "results": R}, False),
    ("lobby-key-number", LOBBY, {"key": 5, "results": R}, False),
    ("lobby-stage-newline", LOBBY, {"stage": "Day\n2", "results": R}, False),
    ("lobby-stage-blank", LOBBY, {"stage": "\u3000", "results": R}, False),
    ("lobby-stage-long", LOBBY, {"stage": "s" * 81, "results": R}, False),
    ("lobby-state-unknown", LOBBY, {"state": "done", "results": R}, False),
    ("lobby-state-null", LOBBY, {"state": None, "results": R}, False),
    ("lobby-live-with-time", LOBBY, {"state": "live", "completed_at": "2025-11-13T14:00:00Z"}, False),
    ("lobby-time-no-zone", LOBBY, {"completed_at": "2025-11-13T14:00:00", "results": R}, False),
    ("lobby-time-words", LOBBY, {"completed_at": "yesterday", "results": R}, False),
    ("lobby-played-no-results", LOBBY, {"state": "completed"}, False),
    ("lobby-played-empty-results", LOBBY, {"results": []}, False),
    ("lobby-results-object", LOBBY, {"results": {}}, False),
    ("lobby-result-unknown-key", LOBBY, {"results": [{**R[0], "kils": 1}]}, False),
    ("lobby-result-no-kills", LOBBY, {"results": [{"participant": "A", "placement": 1}]}, False),
    ("lobby-placement-0", LOBBY, {"results": [{**R[0], "placement": 0}]}, False),
    ("lobby-placement-101", LOBBY, {"results": [{**R[0], "placement": 101}]}, False),
    ("lobby-placement-half", LOBBY, {"results": [{**R[0], "placement": 1.5}]}, False),
    ("lobby-placement-bool", LOBBY, {"results": [{**R[0], "placement": True}]}, False),
    ("lobby-kills-negative", LOBBY, {"results": [{**R[0], "kills": -1}]}, False),
    ("lobby-kills-1001", LOBBY, {"results": [{**R[0], "kills": 1001}]}, False),
    ("lobby-unknown-key", LOBBY, {"results": R, "note": "x"}, False),
    ("lobby-participant-unknown", LOBBY, {"results": [{**R[0], "participant": "Z"}]}, None),
    ("lobby-placement-twice", LOBBY, {"results": [R[0], {"participant": "B", "placement": 1, "kills": 0}]}, None),
    ("lobby-impossible-date", LOBBY, {"completed_at": "2025-02-30T14:00:00Z", "results": R}, None),
    # state of a match (the live tournament's completed lobby)
    ("state-dispute", STATE, {"state": "disputed", "reason": "Team B contests the kills"}, True),
    ("state-dispute-no-reason", STATE, {"state": "disputed"}, False),
    ("state-dispute-blank-reason", STATE, {"state": "disputed", "reason": "   "}, False),
    ("state-unknown", STATE, {"state": "done"}, False),
    ("state-missing", STATE, {"reason": "x"}, False),
    ("state-reason-nul", STATE, {"state": "disputed", "reason": NUL}, False),
    # correction of a lobby's results
    ("correct-ok", CORRECT, {"results": [{"participant": "A", "placement": 2}]}, True),
    ("correct-empty", CORRECT, {"results": []}, False),
    ("correct-placement-0", CORRECT, {"results": [{"participant": "A", "placement": 0}]}, False),
    ("correct-missing-placement", CORRECT, {"results": [{"participant": "A"}]}, False),
    ("correct-version-text", CORRECT, {"results": R, "version": "1"}, False),
    # void and restore
    ("void-ok", VOID, {"reason": "Entered twice"}, True),
    ("void-reason-4", VOID, {"reason": " abcd "}, False),
    ("void-reason-missing", VOID, {}, False),
    ("restore-empty", RESTORE, {}, None),  # 409: nothing voided; the body itself is fine
    ("restore-reason-number", RESTORE, {"reason": 5}, False),
    # adjustments
    ("adjust-ok", ADJUST, {"participant_id": "A", "points": -5, "reason": "Late to lobby"}, True),
    ("adjust-zero", ADJUST, {"participant_id": "A", "points": 0, "reason": "Late to lobby"}, False),
    ("adjust-huge", ADJUST, {"participant_id": "A", "points": 10001, "reason": "Late to lobby"}, False),
    ("adjust-blank-reason", ADJUST, {"participant_id": "A", "points": -5, "reason": "  "}, False),
    ("adjust-long-reason", ADJUST, {"participant_id": "A", "points": -5, "reason": "r" * 501}, False),
    ("edit-ok", EDIT, {"points": -3, "note": "recounted"}, True),
    ("edit-zero", EDIT, {"points": 0}, False),
    ("delete-ok", DELETE, {"reason": "Given by mistake"}, True),
    ("delete-no-reason", DELETE, {}, False),
]
API_BEYOND_SCHEMA = {
    "override-rank-past-n": "the rank must be at most the number of participants",
    "lobby-participant-unknown": "a participant of this tournament",
    "lobby-placement-twice": "distinct placements (a property unique across items)",
    "lobby-impossible-date": "calendar dates",
    "restore-empty": "only a voided lobby can be restored (409, a state rule)",
    # Said recursively only, which client generators cannot read (app/api/openapi.py, _storable_json).
    "override-extra-lone": "text deep inside an ignored key's value",
    "override-deep-nul": "text deep inside an ignored key's value",
    "override-too-deep": "the body's nesting depth",
}


def _deep(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = [value]
    return value


@pytest.fixture
def api(app, staff_user):
    with app.app_context():
        live = f.br_tournament("live-cup", preset="ffws")
        f.lobby(live, [("A", 1, 5), ("B", 2, 4)], key="m1", stage="Day 1")
        f.adjust(live, "A", -2)
        done = f.br_tournament("done-cup", preset="ffws")
        f.lobby(done, [("A", 1, 5), ("B", 2, 4), ("C", 3, 0)], key="m1")
        db.session.commit()
        LeaderboardService.complete_tournament(done.id)
        ids = {
            "live": live.slug,
            "done": done.slug,
            "match_id": db.session.scalar(db.select(Match.id).filter_by(tournament_id=live.id, key="m1")),
            "adjustment_id": db.session.scalar(db.select(PointAdjustment.id).filter_by(tournament_id=live.id)),
        }
        return ids, create_token(staff_user)


def _request_schema(doc: dict[str, Any], method: str, path: str) -> jsonschema.Draft202012Validator:
    schema = doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return _validator({**schema, "components": doc["components"]})


def _send(client, url: str, method: str, body: Any, token: str):
    return client.open(
        url,
        method=method.upper(),
        data=json.dumps(body, ensure_ascii=True),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


def _assert_agree(name: str, schema_ok: bool, response, accepted: bool | None, beyond: dict[str, str]) -> None:
    """Schema and server give the same verdict; `accepted` None: a rule no schema can state
    (listed in `beyond`), which the schema accepts and the server refuses."""
    assert response.status_code < 500, response.get_data(as_text=True)
    server_ok = response.status_code < 300
    if accepted is None:
        assert name in beyond
        assert schema_ok and not server_ok, (name, response.get_json())
    else:
        assert server_ok == accepted, (name, response.status_code, response.get_json())
        assert schema_ok == accepted, (name, "schema disagrees with the server")


@pytest.mark.parametrize(("name", "operation", "body", "accepted"), API_CORPUS, ids=[c[0] for c in API_CORPUS])
def test_api_schema_accepts_what_the_server_accepts(client, api, name, operation, body, accepted):
    ids, token = api
    doc = client.get("/api/openapi.json").get_json()
    method, template = operation
    if body.get("x") == "DEEP":  # lists down to depth MAX_JSON_DEPTH + 1 of the body: one too many
        body = {**body, "x": _deep(MAX_JSON_DEPTH)}
    elif name == "override-deep":  # the deepest allowed
        body = {**body, "x": _deep(MAX_JSON_DEPTH - 1)}
    ref = ids["done"] if operation in (OVERRIDE, CLEAR) else ids["live"]
    url = template.format(ref=ref, match_id=ids["match_id"], adjustment_id=ids["adjustment_id"])
    if operation == RESTORE and name != "restore-empty":
        client.post(
            url.replace("/restore/", "/void/"),
            data=json.dumps({"reason": "Entered twice"}),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
    if operation == CLEAR:
        client.post(
            url,
            data=json.dumps({"participant_id": "B", "new_rank": 1, "reason": REASON}),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
    schema_ok = _request_schema(doc, method, template).is_valid(body)
    _assert_agree(name, schema_ok, _send(client, url, method, body, token), accepted, API_BEYOND_SCHEMA)


API_CORPUS_EXTRA = [
    ("state-winner-not-completing", STATE, {"state": "disputed", "reason": "Contested kills", "winner": "A"}, False),
    ("state-score-not-completing", STATE, {"state": "disputed", "reason": "Contested kills", "score": {}}, False),
    ("state-winner-null", STATE, {"state": "disputed", "reason": "Contested kills", "winner": None}, True),
    ("lobby-year-0", LOBBY, {"completed_at": "0000-01-01T00:00Z", "results": R}, False),
    ("lobby-year-1", LOBBY, {"completed_at": "0001-01-01T00:00Z", "results": R}, True),
]


@pytest.mark.parametrize(
    ("name", "operation", "body", "accepted"), API_CORPUS_EXTRA, ids=[c[0] for c in API_CORPUS_EXTRA]
)
def test_api_schema_agrees_on_rules_schemathesis_found(client, api, name, operation, body, accepted):
    test_api_schema_accepts_what_the_server_accepts(client, api, name, operation, body, accepted)


@pytest.fixture
def registration(app, staff_user):
    """A tournament taking registrations, staff and a captain (as tests/web/api/test_registration_api.py)."""
    with app.app_context():
        tournament = f.br_tournament("reg-cup", status="registration", teams=())
        db.session.commit()
        tid, staff = tournament.id, create_token(staff_user)
    uid = create_user(app, "cap1@example.com", "password 12345")
    with app.app_context():
        return {"tid": tid, "staff": staff, "captains": {1: {"token": create_token(uid)}}}


# Registration: a team's name and tag are checked as sent, then trimmed (`_clean_team`).
REGISTER = ("post", "/api/tournaments/{ref}/registrations/")
SETTINGS_PUT = ("put", "/api/tournaments/{ref}/registration/")
REGISTRATION_CORPUS = [
    ("register-ok", REGISTER, {"team_name": "Team Phoenix", "tag": "PHX"}, True),
    ("register-padded", REGISTER, {"team_name": "  Team Phoenix\u3000", "tag": "  PHX "}, True),
    ("register-padded-with-controls", REGISTER, {"team_name": "\tTeam Phoenix\n", "tag": "PHX"}, False),
    ("register-tag-padded-with-controls", REGISTER, {"team_name": "Team Phoenix", "tag": "PHX\u2028"}, False),
    ("register-tag-empty", REGISTER, {"team_name": "Team Phoenix", "tag": ""}, True),
    ("register-tag-blank", REGISTER, {"team_name": "Team Phoenix", "tag": "   "}, True),
    ("register-tag-null", REGISTER, {"team_name": "Team Phoenix", "tag": None}, True),
    ("register-tag-c1", REGISTER, {"team_name": "Team Phoenix", "tag": "P\u008eX"}, False),
    ("register-name-newline-inside", REGISTER, {"team_name": "Team\nPhoenix"}, False),
    ("register-name-blank", REGISTER, {"team_name": " \u3000 "}, False),
    ("register-name-missing", REGISTER, {"tag": "PHX"}, False),
    ("register-unknown-key", REGISTER, {"team_name": "Team Phoenix", "captain": 1}, False),
    ("settings-year-0", SETTINGS_PUT, {"opens_at": "0000-01-01T00:00Z"}, False),
    ("settings-ok", SETTINGS_PUT, {}, True),
]


@pytest.mark.parametrize(
    ("name", "operation", "body", "accepted"), REGISTRATION_CORPUS, ids=[c[0] for c in REGISTRATION_CORPUS]
)
def test_registration_schema_accepts_what_the_server_accepts(client, registration, name, operation, body, accepted):
    setup = registration

    doc = client.get("/api/openapi.json").get_json()
    method, template = operation
    url = template.format(ref=setup["tid"])
    if operation == SETTINGS_PUT:
        body = {**SETTINGS, **body}
        token = setup["staff"]
    else:
        assert _put_settings(client, setup).status_code == 200
        token = setup["captains"][1]["token"]
    schema_ok = _request_schema(doc, method, template).is_valid(body)
    _assert_agree(name, schema_ok, _send(client, url, method, body, token), accepted, {})


API_CORPUS_DECLARED = [
    ("correct-row-unknown-key", CORRECT, {"results": [{"participant": "A", "placement": 1, "kils": 2}]}, False),
    ("correct-stage-null", CORRECT, {"results": R, "stage": None}, True),
    ("correct-version-negative", CORRECT, {"results": R, "version": -1}, False),
    ("edit-points-null", EDIT, {"points": None}, False),
    ("edit-reason-blank", EDIT, {"reason": " "}, False),
    ("state-score-negative", STATE, {"state": "disputed", "reason": "Contested kills", "score": {"A": -1}}, False),
    ("override-rank-huge", OVERRIDE, {"participant_id": "B", "new_rank": 2**31, "reason": REASON}, False),
]


@pytest.mark.parametrize(
    ("name", "operation", "body", "accepted"), API_CORPUS_DECLARED, ids=[c[0] for c in API_CORPUS_DECLARED]
)
def test_api_schema_agrees_on_declared_rules(client, api, name, operation, body, accepted):
    test_api_schema_accepts_what_the_server_accepts(client, api, name, operation, body, accepted)


SETTINGS_CORPUS = [
    ("settings-fee-as-amount", {"fee": "500"}, True),
    ("settings-fee-as-number", {"fee": 500}, True),
    ("settings-fee-null-free", {"fee": None, "methods": None}, True),
    ("settings-fee-three-decimals", {"fee": {"amount": "5.001"}}, False),
    ("settings-fee-padded", {"fee": {"amount": " 500 ", "currency": "bdt"}}, True),
    ("settings-currency-long", {"fee": {"amount": "500", "currency": "TAKA"}}, False),
    ("settings-method-padded", {"methods": [{"name": " bkash", "instructions": "x"}]}, False),
    ("settings-method-extra-key", {"methods": [{"name": "bkash", "fee": 1}]}, False),
    ("settings-time-space", {"opens_at": "2020-01-01 00:00Z"}, True),
    ("settings-time-no-zone", {"opens_at": "2020-01-01T00:00"}, False),
    ("settings-auto-text", {"auto_confirm_free": "yes"}, False),
    ("settings-unknown-key", {"prize": 1}, False),
]


@pytest.mark.parametrize(("name", "change", "accepted"), SETTINGS_CORPUS, ids=[c[0] for c in SETTINGS_CORPUS])
def test_settings_schema_accepts_what_the_server_accepts(client, registration, name, change, accepted):
    test_registration_schema_accepts_what_the_server_accepts(client, registration, name, SETTINGS_PUT, change, accepted)


PAYMENT = ("post", "/api/tournaments/{ref}/registrations/{rid}/payment/")
DECISION = ("post", "/api/tournaments/{ref}/registrations/{rid}/decision/")
PROOF = {"method": "bkash", "transaction_id": "8N7A6B5C4D", "amount": "500.00", "sender_last_digits": "1234"}
ENTRY_CORPUS = [
    ("payment-ok", PAYMENT, PROOF, True),
    ("payment-padded", PAYMENT, {**PROOF, "transaction_id": " 8N7A6B5C4D ", "sender_last_digits": " 12 "}, True),
    ("payment-amount-number", PAYMENT, {**PROOF, "amount": 500}, True),
    ("payment-digits-null", PAYMENT, {**PROOF, "sender_last_digits": None}, True),
    ("payment-method-padded", PAYMENT, {**PROOF, "method": " bkash"}, False),
    ("payment-txn-short", PAYMENT, {**PROOF, "transaction_id": "8N"}, False),
    ("payment-txn-newline", PAYMENT, {**PROOF, "transaction_id": "8N7A6B5C4D\n"}, True),  # trimmed, like a space
    ("payment-amount-words", PAYMENT, {**PROOF, "amount": "five hundred"}, False),
    ("payment-amount-missing", PAYMENT, {k: v for k, v in PROOF.items() if k != "amount"}, False),
    ("payment-digits-five", PAYMENT, {**PROOF, "sender_last_digits": "12345"}, False),
    ("payment-unknown-key", PAYMENT, {**PROOF, "screenshot": "x"}, False),
    ("payment-method-unknown", PAYMENT, {**PROOF, "method": "nagad"}, None),
    ("decision-waive", DECISION, {"decision": "waive"}, True),
    ("decision-reject-reason", DECISION, {"decision": "reject", "reason": "Fake screenshot"}, True),
    ("decision-reject-no-reason", DECISION, {"decision": "reject"}, False),
    ("decision-reject-blank", DECISION, {"decision": "reject", "reason": "  "}, False),
    ("decision-unknown", DECISION, {"decision": "maybe"}, False),
    ("decision-reference-number", DECISION, {"decision": "waive", "reference": 5}, False),
]
ENTRY_BEYOND_SCHEMA = {"payment-method-unknown": "one of this tournament's payment methods (its settings)"}


@pytest.mark.parametrize(("name", "operation", "body", "accepted"), ENTRY_CORPUS, ids=[c[0] for c in ENTRY_CORPUS])
def test_entry_schemas_accept_what_the_server_accepts(client, registration, name, operation, body, accepted):
    setup = registration
    assert _put_settings(client, setup).status_code == 200
    captain = {"Authorization": f"Bearer {setup['captains'][1]['token']}"}
    base = f"/api/tournaments/{setup['tid']}/registrations/"
    registered = client.post(base, json={"team_name": "Team Phoenix"}, headers=captain)
    assert registered.status_code == 201, registered.get_json()
    rid = registered.get_json()["id"]
    token = setup["captains"][1]["token"]
    if operation == DECISION:
        token = setup["staff"]
    doc = client.get("/api/openapi.json").get_json()
    method, template = operation
    schema_ok = _request_schema(doc, method, template).is_valid(body)
    response = _send(client, template.format(ref=setup["tid"], rid=rid), method, body, token)
    _assert_agree(name, schema_ok, response, accepted, ENTRY_BEYOND_SCHEMA)


def test_every_request_body_is_generated_from_its_declaration(client):
    """No body is written by hand in the OpenAPI document: each is a declaration's schema."""
    from app.api.openapi_schemas import MATCH_ENTRY
    from app.services.inputs import api_bodies

    declared = [getattr(api_bodies, name).schema() for name in api_bodies.__all__ if name.isupper()]
    declared.append(json.loads(json.dumps(MATCH_ENTRY)))
    doc = client.get("/api/openapi.json").get_json()
    bodies = [
        operation["requestBody"]["content"]["application/json"]["schema"]
        for item in doc["paths"].values()
        for operation in item.values()
        if "requestBody" in operation
    ]
    assert len(bodies) == 14
    for body in bodies:
        assert json.loads(json.dumps(body)) in [json.loads(json.dumps(d)) for d in declared], body
