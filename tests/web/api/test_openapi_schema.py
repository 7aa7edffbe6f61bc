"""The OpenAPI document says what the server accepts: for inputs at the edges (empty or blank
keys, NUL and lone surrogates, ids 0 and past 32 bits, non-ASCII digits), the schema's verdict
and the server's answer agree. schemathesis explores the rest (see README, "JSON API")."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from app.api import openapi_schemas
from app.extensions import db
from app.services.accounts.tokens import create_token
from app.services.inputs import fieldspec
from tests import factories as f


@pytest.fixture
def br(app):
    with app.app_context():
        t = f.br_tournament("ff-cup", preset="ffws")
        m1 = f.lobby(t, [("A", 1, 5), ("B", 2, 4)], stage="Day 1")
        db.session.commit()
        return {"id": t.id, "m1": m1.id}


@pytest.fixture
def token(app, staff_user):
    with app.app_context():
        return create_token(staff_user)


def _matches(pattern: str, value: str) -> bool:
    return re.search(pattern, value) is not None


def _valid(schema: dict, value: object) -> bool:
    """The schema's verdict, formats included (`storable-text`: no unpaired surrogate)."""
    checker = jsonschema.FormatChecker()
    for name, check in fieldspec.FORMATS.items():
        checker.checks(name)(check)
    return jsonschema.Draft202012Validator(schema, format_checker=checker).is_valid(value)


@pytest.mark.parametrize(
    "value",
    [
        *("1", "0", "00", "01", "1,1", "2147483648", "99999999999", "１", "٣", "1,,2", ",1", "1,"),
        *(" 1", " 1 , 1 ", "-1", "", " ", "0" * 17 + "1", "0" * 18 + "1", "1e3", "+1"),
    ],
)
def test_match_ids_schema_agrees_with_the_server(client, br, value):
    assert br["m1"] == 1  # the only match: every id the pattern accepts here names it
    response = client.get("/api/tournaments/ff-cup/leaderboard/", query_string={"match_ids": value})
    assert response.status_code in (200, 400)
    assert _matches(openapi_schemas.MATCH_IDS_PATTERN, value) == (response.status_code == 200), (
        value,
        response.get_json(),
    )


def test_largest_id_is_in_the_pattern(client, br):
    assert _matches(openapi_schemas.MATCH_IDS_PATTERN, "2147483647")
    # Well formed, and refused only because no such match exists.
    response = client.get("/api/tournaments/ff-cup/leaderboard/?match_ids=2147483647")
    assert response.get_json() == {"error": "match_ids: no match 2147483647 in this tournament"}


def test_a_thousand_ids_are_accepted_not_more(client, br):
    ids = ",".join(str(br["m1"]) for _ in range(1000))
    assert _matches(openapi_schemas.MATCH_IDS_PATTERN, ids)
    assert client.get(f"/api/tournaments/ff-cup/leaderboard/?match_ids={ids}").status_code == 200
    assert not _matches(openapi_schemas.MATCH_IDS_PATTERN, ids + ",1")
    assert client.get(f"/api/tournaments/ff-cup/leaderboard/?match_ids={ids},1").status_code == 400


def _lobby(key=None, stage=None, participant="A"):
    entry = {"results": [{"participant": participant, "placement": 1, "kills": 0}]}
    if key is not None:
        entry["key"] = key
    if stage is not None:
        entry["stage"] = stage
    return entry


@pytest.mark.parametrize(
    "value",
    ["k9", "", " ", "\t\n", "a\x00b", "a\udc80", "\ud83d", "😀 key", "k" * 80, "k" * 81, " padded "],
)
@pytest.mark.parametrize("field", ["key", "stage"])
def test_lobby_text_schema_agrees_with_the_server(client, br, token, field, value):
    accepted_by_schema = _valid(openapi_schemas.MATCH_ENTRY["properties"][field], value)
    body = json.dumps(_lobby(**{field: value}), ensure_ascii=True)
    response = client.post(
        "/api/tournaments/ff-cup/matches/",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert response.status_code in (201, 400), response.get_json()
    assert accepted_by_schema == (response.status_code == 201), (field, value, response.get_json())


@pytest.mark.parametrize(
    ("reason", "accepted"),
    [
        ("0123456789", True),
        ("  012345678  ", False),
        ("          ", False),
        ("a reason\x00 with NUL", False),
        ("a reason \udc80 surrogate", False),
        ("😀 a reason with emoji", True),
        ("r" * 500, True),
        ("r" * 501, False),
    ],
)
def test_override_reason_schema_agrees_with_the_server(app, client, br, token, reason, accepted):
    from app.services.standings.leaderboard import LeaderboardService

    with app.app_context():
        LeaderboardService.complete_tournament(br["id"])
    schema = openapi_schemas.OVERRIDE_REQUEST["properties"]["reason"]
    assert _valid(schema, reason) == accepted
    body = json.dumps({"participant_id": "B", "new_rank": 1, "reason": reason})
    response = client.post(
        "/api/tournaments/ff-cup/override-placement/",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert (response.status_code == 200) == accepted, response.get_json()


@pytest.mark.parametrize(
    ("key", "accepted"), [("note", True), ("", True), ("a\x00", False), ("\udc80", False), ("😀", True)]
)
def test_unknown_keys_in_lenient_bodies(client, br, token, key, accepted):
    """Extra keys are ignored by the state endpoint, but their text must still be storable."""
    assert _valid(openapi_schemas.KEY_NAMES, key) == accepted
    body = json.dumps({"state": "live", key: ["x", {"y": key}]})
    response = client.post(
        f"/api/tournaments/ff-cup/matches/{br['m1']}/state/",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    # Accepted bodies go on to the state machine (completed -> live is not allowed: 409).
    assert (response.status_code != 400) == accepted, response.get_json()


def test_path_ids_are_bounded_like_the_routes(client, br):
    bounds = openapi_schemas.MATCH_PARAM["schema"]
    assert (bounds["minimum"], bounds["maximum"]) == (1, 2**31 - 1)
    assert client.get("/api/tournaments/ff-cup/series/2147483648/").status_code == 404
    # Two methods on one address: past the bound is 404 for both, not 405 naming the other
    # (schemathesis found the 405: Werkzeug matched the method before `int(max=...)`'s bound).
    for method in ("PATCH", "DELETE"):
        assert client.open("/api/tournaments/ff-cup/adjustments/2147483648/", method=method).status_code == 404
        assert client.open("/api/tournaments/ff-cup/adjustments/0/", method=method).status_code == 404


def test_document_is_json_and_every_pattern_compiles(client):
    doc = client.get("/api/openapi.json").get_json()

    def patterns(node):
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                yield node["pattern"]
            for value in node.values():
                yield from patterns(value)
        elif isinstance(node, list):
            for item in node:
                yield from patterns(item)

    found = list(patterns(doc))
    assert len(found) >= 10
    for pattern in found:
        re.compile(pattern)
        # No surrogate escapes: engines that read UTF-8 (Rust, Go) refuse them.
        assert "\\ud8" not in pattern.lower() and "\\udf" not in pattern.lower()
    assert doc["components"]["schemas"]["StorableJson"]["additionalProperties"]


def test_integral_floats_are_integers_as_in_json_schema(app, client, br, token):
    """schemathesis sent `"new_rank": 2960.0` (an integer to JSON Schema) and got 400."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    lobby = {"key": "f1", "results": [{"participant": "A", "placement": 1.0, "kills": 2.0}]}
    assert client.post("/api/tournaments/ff-cup/matches/", data=json.dumps(lobby), headers=headers).status_code == 201
    lobby = {"key": "f2", "results": [{"participant": "A", "placement": 1.5, "kills": 0}]}
    response = client.post("/api/tournaments/ff-cup/matches/", data=json.dumps(lobby), headers=headers)
    assert response.status_code == 400 and "placement" in response.get_json()["error"]
    from app.services.standings.leaderboard import LeaderboardService

    with app.app_context():
        LeaderboardService.complete_tournament(br["id"])
    body = {"participant_id": "B", "new_rank": 1.0, "reason": "Appeal upheld after review"}
    response = client.post("/api/tournaments/ff-cup/override-placement/", data=json.dumps(body), headers=headers)
    assert response.status_code == 200 and response.get_json()["new_rank"] == 1
