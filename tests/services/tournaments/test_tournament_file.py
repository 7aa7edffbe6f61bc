"""The tournament file (contract §2) and `tournaments import/export` (contract §3).

Refusals are checked through the command line because that is where organisers meet them: one
line on stderr naming the place, exit status 1, and nothing stored.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app import scoring
from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models import (
    Match,
    MatchResult,
    Participant,
    PointAdjustment,
    Series,
    Tournament,
)
from app.services.standings import final_results
from app.services.tournaments import file as tf

EXAMPLES = ("ff-weekly-cup", "pmcs-group-a", "val-campus-playoffs")
TABLES = (Tournament, Participant, Match, MatchResult, PointAdjustment, Series)


# --------------------------------------------------------------------------- helpers


def example(examples_dir: str, name: str) -> dict[str, Any]:
    with open(os.path.join(examples_dir, f"{name}.json"), encoding="utf-8") as handle:
        return json.load(handle)


def write(tmp_path, doc: object, name: str = "tournament.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def invoke(runner, *args: str):
    return runner.invoke(args=["tournaments", *args])


def row_counts(app) -> dict[str, int]:
    with app.app_context():
        return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model)) for model in TABLES}


def assert_refused(result, place: str, fragment: str = "") -> str:
    """Exit 1, exactly one line on stderr starting with the place, nothing on stdout."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a traceback
    assert result.stdout == ""
    assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1, result.stderr
    line = result.stderr.removeprefix("Error: ").rstrip("\n")
    assert line.startswith(f"{place}: "), line
    assert fragment in line, line
    return line


def canonical_time(value: str | None) -> str | None:
    return tf.format_timestamp(tf.parse_timestamp(value, "test"))


def normalise(doc: dict[str, Any]) -> dict[str, Any]:
    """A file with every default written out, in the form export produces."""
    doc = copy.deepcopy(doc)
    info = doc["tournament"]
    info.setdefault("status", "live")
    for p in doc.get("participants", []):
        if p.get("tag") is None:
            p.pop("tag", None)
    doc.setdefault("participants", [])
    if info["game"] in ("freefire", "pubgm"):
        scoring_info = info.get("scoring") or {}
        scoring_info.setdefault("preset", scoring.DEFAULT_PRESET[info["game"]])
        if scoring_info["preset"] == "custom":
            scoring_info.setdefault("tiebreakers", [])
        info["scoring"] = scoring_info
        doc["matches"] = doc.get("matches") or []
        doc["adjustments"] = doc.get("adjustments") or []
        for m in doc["matches"]:
            m.setdefault("stage", None)
            m.setdefault("state", "completed")
            m["completed_at"] = canonical_time(m.get("completed_at"))
            m["results"] = sorted(m.get("results") or [], key=lambda r: r["placement"])
    else:
        doc["series"] = doc.get("series") or []
        for s in doc["series"]:
            if not s.get("name"):
                s.pop("name", None)
            s.setdefault("forfeit_winner", None)
            s["games"] = s.get("games") or []
            for g in s["games"]:
                g.setdefault("state", "completed")
                g["completed_at"] = canonical_time(g.get("completed_at"))
                g.setdefault("winner", None)
                g.setdefault("score", None)
    return doc


def br_doc(**tournament: Any) -> dict[str, Any]:
    """A small valid battle-royale file to break in one place."""
    return {
        "format": tf.FORMAT,
        "tournament": {"name": "Cup", "slug": "cup", "game": "freefire", **tournament},
        "participants": [{"id": "a", "name": "Alpha"}, {"id": "b", "name": "Bravo"}, {"id": "c", "name": "Charlie"}],
        "matches": [
            {
                "key": "m1",
                "stage": "Day 1",
                "state": "completed",
                "completed_at": "2025-11-13T14:00:00Z",
                "results": [
                    {"participant": "a", "placement": 1, "kills": 3},
                    {"participant": "b", "placement": 2, "kills": 1},
                    {"participant": "c", "placement": 3, "kills": 0},
                ],
            }
        ],
    }


# --------------------------------------------------------------------------- the examples


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_imports_with_json_output(app, runner, examples_dir, name):
    doc = example(examples_dir, name)
    result = invoke(runner, "import", os.path.join(examples_dir, f"{name}.json"), "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    out = json.loads(result.stdout)  # exactly one JSON document
    assert list(out) == ["id", "slug", "matches", "series"]
    assert out["slug"] == doc["tournament"]["slug"]
    game_keys = [g["key"] for s in doc.get("series", []) for g in s["games"]]
    assert list(out["matches"]) == [m["key"] for m in doc.get("matches", [])] + game_keys
    assert list(out["series"]) == [s["key"] for s in doc.get("series", [])]
    with app.app_context():
        tournament = db.session.get(Tournament, out["id"])
        assert tournament.slug == doc["tournament"]["slug"]
        assert tournament.name == doc["tournament"]["name"]
        for key, match_id in out["matches"].items():
            match = db.session.get(Match, match_id)
            assert (match.key, match.tournament_id) == (key, out["id"])
        for key, series_id in out["series"].items():
            assert db.session.get(Series, series_id).key == key


def test_human_output(runner, examples_dir):
    result = invoke(runner, "import", os.path.join(examples_dir, "ff-weekly-cup.json"))
    assert result.exit_code == 0, result.output
    assert result.stdout == 'Imported "Free Fire Weekly Cup" (ff-weekly-cup): 6 participants, 4 matches, 0 series.\n'


def test_human_output_for_series(runner, examples_dir):
    result = invoke(runner, "import", os.path.join(examples_dir, "val-campus-playoffs.json"))
    assert result.stdout == (
        'Imported "Valorant Campus Playoffs" (val-campus-playoffs): 4 participants, 7 matches, 4 series.\n'
    )


def test_battle_royale_rows(app, examples_dir):
    with app.app_context():
        result = tf.import_tournament(example(examples_dir, "ff-weekly-cup"))
        tournament = db.session.get(Tournament, result.tournament_id)
        assert (tournament.game, tournament.status, tournament.scoring_preset) == ("freefire", "live", "ffws")
        assert tournament.placement_points is None and tournament.tiebreakers is None
        assert [p.key for p in tournament.participants] == [f"team-{i}" for i in range(1, 7)]
        matches = db.session.scalars(select(Match).order_by(Match.position)).all()
        assert [(m.key, m.position, m.stage, m.state) for m in matches] == [
            ("m1", 0, "Day 1", "completed"),
            ("m2", 1, "Day 1", "completed"),
            ("m3", 2, "Day 2", "completed"),
            ("m4", 3, "Day 2", "live"),
        ]
        assert matches[0].completed_at == datetime(2025, 11, 13, 14, 0, tzinfo=UTC)
        assert matches[3].completed_at is None
        first = [(r.participant.key, r.placement, r.kills) for r in matches[0].results]
        assert first[:2] == [("team-1", 1, 8), ("team-2", 2, 6)]
        assert db.session.scalar(select(func.count()).select_from(MatchResult)) == 18
        adjustment = db.session.scalars(select(PointAdjustment)).one()
        assert (adjustment.participant.key, adjustment.points, adjustment.reason) == (
            "team-5",
            -3,
            "Late to lobby in match 3",
        )


def test_default_preset_for_pubgm(app, examples_dir):
    with app.app_context():
        result = tf.import_tournament(example(examples_dir, "pmcs-group-a"))
        assert db.session.get(Tournament, result.tournament_id).scoring_preset == "pmgc"
        disputed = db.session.scalars(select(Match).where(Match.key == "sanhok-1")).one()
        assert disputed.state == "disputed" and len(disputed.results) == 5


def test_series_rows(app, examples_dir):
    with app.app_context():
        result = tf.import_tournament(example(examples_dir, "val-campus-playoffs"))
        tournament = db.session.get(Tournament, result.tournament_id)
        assert tournament.scoring_preset is None
        sf2 = db.session.get(Series, result.series["sf2"])
        assert (sf2.name, sf2.best_of, sf2.position) == ("Semi-final 2", 3, 1)
        assert (sf2.participant_a.key, sf2.participant_b.key, sf2.forfeit_winner_id) == ("team-c", "team-d", None)
        assert [(g.key, g.game_number, g.position, g.state) for g in sf2.games] == [
            ("sf2-1", 1, 0, "completed"),
            ("sf2-2", 2, 1, "live"),
        ]
        # Scores are stored from the point of view of the series' first participant.
        assert (sf2.games[0].winner.key, sf2.games[0].score_a, sf2.games[0].score_b) == ("team-d", 7, 13)
        assert (sf2.games[1].winner_id, sf2.games[1].score_a, sf2.games[1].score_b) == (None, 4, 6)
        gf = db.session.get(Series, result.series["gf"])
        assert gf.forfeit_winner.key == "team-a" and gf.games == []
        assert all(g.stage is None and g.series_id is not None for g in db.session.scalars(select(Match)))


# --------------------------------------------------------------------------- refusals

# (base, change, place, fragment). `base` is "br" (br_doc) or an example name.
INVALID: list[Any] = []


def case(case_id: str, base: str, change, place: str, fragment: str = "") -> None:
    INVALID.append(pytest.param(base, change, place, fragment, id=case_id))


def set_path(doc: Any, path: tuple, value: Any) -> Any:
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return doc


def drop_path(doc: Any, path: tuple) -> Any:
    target = doc
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return doc


def setter(*path: Any):
    *steps, value = path
    return lambda doc: set_path(doc, tuple(steps), value)


def dropper(*path: Any):
    return lambda doc: drop_path(doc, path)


R0 = ("matches", 0, "results", 0)
VAL_GAME = ("series", 0, "games", 0)

# document and format
case("top-level-list", "br", lambda doc: [doc], "document", "must be an object, found a list")
case("top-level-string", "br", lambda doc: "hello", "document", "must be an object")
case("format-missing", "br", dropper("format"), "format", "required")
case("format-v2", "br", setter("format", "deltacrown.tournament/v2"), "format", tf.FORMAT)
case("format-number", "br", setter("format", 1), "format", "found an integer")
case("unknown-top-key", "br", setter("matchs", []), "matchs", "unknown key")
case(
    "unknown-key-with-newline",
    "br",
    setter("tournament", "bad\nkey", 1),
    'tournament["bad\\nkey"]',
    "unknown key",
)
# tournament
case("tournament-missing", "br", dropper("tournament"), "tournament", "required")
case("tournament-not-object", "br", setter("tournament", "Cup"), "tournament", "must be an object")
case("tournament-unknown-key", "br", setter("tournament", "stauts", "live"), "tournament.stauts", "unknown key")
case("name-missing", "br", dropper("tournament", "name"), "tournament.name", "required")
case("name-empty", "br", setter("tournament", "name", ""), "tournament.name", "non-empty")
case("name-blank", "br", setter("tournament", "name", "   "), "tournament.name", "non-empty")
case("name-too-long", "br", setter("tournament", "name", "x" * 201), "tournament.name", "at most 200")
case("name-number", "br", setter("tournament", "name", 7), "tournament.name", "found an integer")
case("slug-missing", "br", dropper("tournament", "slug"), "tournament.slug", "required")
case("slug-uppercase", "br", setter("tournament", "slug", "Cup"), "tournament.slug", "lowercase")
case("slug-double-dash", "br", setter("tournament", "slug", "a--b"), "tournament.slug", "single dashes")
case("slug-trailing-dash", "br", setter("tournament", "slug", "cup-"), "tournament.slug")
case("slug-space", "br", setter("tournament", "slug", "my cup"), "tournament.slug")
case("slug-too-long", "br", setter("tournament", "slug", "a" * 81), "tournament.slug", "at most 80")
case("game-unknown", "br", setter("tournament", "game", "fortnite"), "tournament.game", "freefire, pubgm")
case("game-missing", "br", dropper("tournament", "game"), "tournament.game", "required")
case("game-wrong-case", "br", setter("tournament", "game", "FreeFire"), "tournament.game")
case("status-unknown", "br", setter("tournament", "status", "finished"), "tournament.status", "draft")
case("status-null", "br", setter("tournament", "status", None), "tournament.status", "found null")
# scoring
case(
    "scoring-for-series-game",
    "val-campus-playoffs",
    setter("tournament", "scoring", {"preset": "ffws"}),
    "tournament.scoring",
    "only battle-royale",
)
case("scoring-not-object", "br", setter("tournament", "scoring", "ffws"), "tournament.scoring", "must be an object")
case("scoring-unknown-key", "br", setter("tournament", "scoring", {"prest": "ffws"}), "tournament.scoring.prest")
case(
    "preset-unknown",
    "br",
    setter("tournament", "scoring", {"preset": "ffwss"}),
    "tournament.scoring.preset",
    "custom",
)
case(
    "table-without-custom",
    "br",
    setter("tournament", "scoring", {"preset": "ffws", "placement_points": [1]}),
    "tournament.scoring.placement_points",
    'only allowed with preset "custom"',
)
case(
    "table-with-default-preset",
    "br",
    setter("tournament", "scoring", {"kill_points": 2}),
    "tournament.scoring.kill_points",
    "only allowed",
)
case(
    "custom-without-kill-points",
    "br",
    setter("tournament", "scoring", {"preset": "custom", "placement_points": [3, 2, 1]}),
    "tournament.scoring.kill_points",
    "required",
)
case(
    "custom-without-table",
    "br",
    setter("tournament", "scoring", {"preset": "custom", "kill_points": 1}),
    "tournament.scoring.placement_points",
    "required",
)
case(
    "custom-negative-points",
    "br",
    setter("tournament", "scoring", {"preset": "custom", "placement_points": [3, -1], "kill_points": 1}),
    "tournament.scoring.placement_points[1]",
)
case(
    "custom-kill-points-bool",
    "br",
    setter("tournament", "scoring", {"preset": "custom", "placement_points": [3], "kill_points": True}),
    "tournament.scoring.kill_points",
)
case(
    "custom-unknown-tiebreaker",
    "br",
    setter(
        "tournament", "scoring", {"preset": "custom", "placement_points": [3], "kill_points": 1, "tiebreakers": ["x"]}
    ),
    "tournament.scoring.tiebreakers[0]",
    "unknown key",
)
case(
    "custom-total-points-tiebreaker",
    "br",
    setter(
        "tournament",
        "scoring",
        {"preset": "custom", "placement_points": [3], "kill_points": 1, "tiebreakers": ["total_points"]},
    ),
    "tournament.scoring.tiebreakers[0]",
    "always ranks first",
)
# participants
case("participants-not-list", "br", setter("participants", {"a": "Alpha"}), "participants", "must be a list")
case("participant-not-object", "br", setter("participants", 1, "b"), "participants[1]", "must be an object")
case("participant-id-missing", "br", dropper("participants", 1, "id"), "participants[1].id", "required")
case("participant-id-number", "br", setter("participants", 1, "id", 2), "participants[1].id", "found an integer")
case("participant-id-space", "br", setter("participants", 1, "id", "team 2"), "participants[1].id", "letters")
case("participant-id-leading-dash", "br", setter("participants", 1, "id", "-b"), "participants[1].id")
case("participant-id-too-long", "br", setter("participants", 1, "id", "b" * 81), "participants[1].id", "at most 80")
case(
    "participant-id-duplicate",
    "br",
    setter("participants", 2, "id", "a"),
    "participants[2].id",
    'duplicate id "a"',
)
case("participant-name-missing", "br", dropper("participants", 0, "name"), "participants[0].name", "required")
case("participant-name-empty", "br", setter("participants", 0, "name", ""), "participants[0].name")
case(
    "participant-name-duplicate-case",
    "br",
    setter("participants", 2, "name", "ALPHA"),
    "participants[2].name",
    "duplicate name",
)
case("participant-unknown-key", "br", setter("participants", 0, "nmae", "x"), "participants[0].nmae", "unknown key")
case("participant-tag-too-long", "br", setter("participants", 0, "tag", "T" * 21), "participants[0].tag", "at most 20")
case("participant-tag-number", "br", setter("participants", 0, "tag", 5), "participants[0].tag")
# game kind
case(
    "matches-in-series-game",
    "val-campus-playoffs",
    setter("matches", [{}]),
    "matches",
    "only battle-royale games",
)
case(
    "adjustments-in-series-game",
    "val-campus-playoffs",
    setter("adjustments", [{}]),
    "adjustments",
    "only battle-royale games",
)
case("series-in-br-game", "br", setter("series", [{}]), "series", "battle-royale game")
# the advancement line
case("advancing-zero", "br", setter("tournament", "advancing", 0), "tournament.advancing", "must be an integer >= 1")
case(
    "advancing-negative", "br", setter("tournament", "advancing", -3), "tournament.advancing", "must be an integer >= 1"
)
case("advancing-string", "br", setter("tournament", "advancing", "8"), "tournament.advancing", "found a string")
case("advancing-bool", "br", setter("tournament", "advancing", True), "tournament.advancing", "found a boolean")
case("advancing-float", "br", setter("tournament", "advancing", 2.5), "tournament.advancing", "found a number")
case("advancing-huge", "br", setter("tournament", "advancing", 10**9), "tournament.advancing", "must be <= 100000")
# lobbies
case("matches-not-list", "br", setter("matches", {}), "matches", "must be a list")
case("match-not-object", "br", setter("matches", 0, []), "matches[0]", "must be an object")
case("match-key-missing", "br", dropper("matches", 0, "key"), "matches[0].key", "required")
case("match-key-empty", "br", setter("matches", 0, "key", ""), "matches[0].key", "non-empty")
case("match-key-number", "br", setter("matches", 0, "key", 1), "matches[0].key")
case("match-key-too-long", "br", setter("matches", 0, "key", "k" * 81), "matches[0].key", "at most 80")
case(
    "match-key-duplicate",
    "ff-weekly-cup",
    setter("matches", 2, "key", "m1"),
    "matches[2].key",
    'duplicate key "m1"',
)
case("match-unknown-key", "br", setter("matches", 0, "completd_at", None), "matches[0].completd_at", "unknown key")
case("match-state-unknown", "br", setter("matches", 0, "state", "done"), "matches[0].state", "scheduled")
case("match-stage-number", "br", setter("matches", 0, "stage", 1), "matches[0].stage")
case("match-stage-too-long", "br", setter("matches", 0, "stage", "s" * 81), "matches[0].stage", "at most 80")
case(
    "completed-without-time",
    "br",
    setter("matches", 0, "completed_at", None),
    "matches[0].completed_at",
    'required when state is "completed"',
)
case(
    "disputed-without-time",
    "pmcs-group-a",
    dropper("matches", 2, "completed_at"),
    "matches[2].completed_at",
    "disputed",
)
case(
    "live-with-time",
    "ff-weekly-cup",
    setter("matches", 3, "completed_at", "2025-11-14T15:00:00Z"),
    "matches[3].completed_at",
    'must be null when state is "live"',
)
case(
    "time-without-zone",
    "br",
    setter("matches", 0, "completed_at", "2025-11-13T14:00:00"),
    "matches[0].completed_at",
    "time zone",
)
case("time-words", "br", setter("matches", 0, "completed_at", "yesterday"), "matches[0].completed_at", "ISO 8601")
case("time-date-only", "br", setter("matches", 0, "completed_at", "2025-11-13"), "matches[0].completed_at")
case(
    "time-impossible-date",
    "br",
    setter("matches", 0, "completed_at", "2025-02-30T10:00:00Z"),
    "matches[0].completed_at",
    "not a valid date",
)
case("time-number", "br", setter("matches", 0, "completed_at", 1731506400), "matches[0].completed_at")
case("results-not-list", "br", setter("matches", 0, "results", {}), "matches[0].results", "must be a list")
case(
    "completed-without-results",
    "br",
    setter("matches", 0, "results", []),
    "matches[0].results",
    "at least one result",
)
case("result-not-object", "br", setter(*R0, 5), "matches[0].results[0]", "must be an object")
case("result-unknown-key", "br", setter(*R0, "kils", 1), "matches[0].results[0].kils", "unknown key")
case(
    "result-undeclared",
    "br",
    setter(*R0, "participant", "zulu"),
    "matches[0].results[0].participant",
    'unknown participant "zulu"',
)
case("result-participant-missing", "br", dropper(*R0, "participant"), "matches[0].results[0].participant")
case(
    "result-participant-twice",
    "br",
    setter("matches", 0, "results", 2, "participant", "a"),
    "matches[0].results[2].participant",
    "twice",
)
case(
    "placement-zero",
    "ff-weekly-cup",
    setter("matches", 2, "results", 2, "placement", 0),
    "matches[2].results[2].placement",
    "must be >= 1",
)
case("placement-bool", "br", setter(*R0, "placement", True), "matches[0].results[0].placement", "found a boolean")
case("placement-float", "br", setter(*R0, "placement", 1.0), "matches[0].results[0].placement", "found a number")
case("placement-string", "br", setter(*R0, "placement", "1"), "matches[0].results[0].placement", "found a string")
case("placement-missing", "br", dropper(*R0, "placement"), "matches[0].results[0].placement", "required")
case("placement-too-big", "br", setter(*R0, "placement", 101), "matches[0].results[0].placement", "<= 100")
case(
    "placement-duplicate",
    "br",
    setter("matches", 0, "results", 1, "placement", 1),
    "matches[0].results[1].placement",
    "also given to results[0]",
)
case("kills-negative", "br", setter(*R0, "kills", -1), "matches[0].results[0].kills", "must be >= 0")
case("kills-too-many", "br", setter(*R0, "kills", 1001), "matches[0].results[0].kills", "<= 1000")
case("kills-missing", "br", dropper(*R0, "kills"), "matches[0].results[0].kills", "required")
case("kills-null", "br", setter(*R0, "kills", None), "matches[0].results[0].kills", "found null")
# adjustments
ADJ = {"participant": "a", "points": -2, "reason": "Late"}
case("adjustments-not-list", "br", setter("adjustments", ADJ), "adjustments", "must be a list")
case(
    "adjustment-undeclared",
    "br",
    setter("adjustments", [{**ADJ, "participant": "zulu"}]),
    "adjustments[0].participant",
    "unknown participant",
)
case("adjustment-zero", "br", setter("adjustments", [{**ADJ, "points": 0}]), "adjustments[0].points", "not be 0")
case("adjustment-huge", "br", setter("adjustments", [{**ADJ, "points": -10001}]), "adjustments[0].points", ">= -10000")
case("adjustment-bool", "br", setter("adjustments", [{**ADJ, "points": True}]), "adjustments[0].points", "boolean")
case("adjustment-no-reason", "br", setter("adjustments", [{**ADJ, "reason": ""}]), "adjustments[0].reason")
case(
    "adjustment-reason-missing",
    "br",
    setter("adjustments", [{"participant": "a", "points": 1}]),
    "adjustments[0].reason",
    "required",
)
case(
    "adjustment-reason-too-long",
    "br",
    setter("adjustments", [{**ADJ, "reason": "r" * 501}]),
    "adjustments[0].reason",
    "at most 500",
)
case("adjustment-unknown-key", "br", setter("adjustments", [{**ADJ, "by": "me"}]), "adjustments[0].by", "unknown key")
# series
V = "val-campus-playoffs"
case("series-not-list", V, setter("series", {}), "series", "must be a list")
case("series-not-object", V, setter("series", 0, "sf1"), "series[0]", "must be an object")
case("series-unknown-key", V, setter("series", 0, "bestof", 3), "series[0].bestof", "unknown key")
case("series-key-missing", V, dropper("series", 0, "key"), "series[0].key", "required")
case("series-key-duplicate", V, setter("series", 1, "key", "sf1"), "series[1].key", "duplicate series key")
case("series-name-number", V, setter("series", 0, "name", 1), "series[0].name")
case("best-of-4", V, setter("series", 0, "best_of", 4), "series[0].best_of", "1, 2, 3, 5, 7")
case("best-of-bool", V, setter("series", 0, "best_of", True), "series[0].best_of", "found a boolean")
case("best-of-missing", V, dropper("series", 0, "best_of"), "series[0].best_of", "required")
case("series-one-side", V, setter("series", 0, "participants", ["team-a"]), "series[0].participants", "exactly two")
case(
    "series-three-sides",
    V,
    setter("series", 0, "participants", ["team-a", "team-b", "team-c"]),
    "series[0].participants",
    "exactly two",
)
case(
    "series-same-side",
    V,
    setter("series", 3, "participants", ["team-a", "team-a"]),
    "series[3].participants[1]",
    "cannot play itself",
)
case(
    "series-undeclared",
    V,
    setter("series", 0, "participants", ["team-a", "team-z"]),
    "series[0].participants[1]",
    "unknown participant",
)
case("forfeit-outsider", V, setter("series", 3, "forfeit_winner", "team-b"), "series[3].forfeit_winner", "team-a")
case("games-not-list", V, setter("series", 0, "games", {}), "series[0].games", "must be a list")
case(
    "too-many-games",
    V,
    lambda doc: set_path(doc, ("series", 0, "best_of"), 1),
    "series[0].games",
    "at most 1 games",
)
case(
    "game-after-decided",
    V,
    lambda doc: set_path(doc, ("series", 0, "games", 1), {**doc["series"][0]["games"][0], "key": "sf1-x"}),
    "series[0].games[2]",
    "the series was already decided by game 2",
)
case("game-not-object", V, setter(*VAL_GAME, "g"), "series[0].games[0]", "must be an object")
case("game-unknown-key", V, setter(*VAL_GAME, "scores", {}), "series[0].games[0].scores", "unknown key")
case("game-key-missing", V, dropper(*VAL_GAME, "key"), "series[0].games[0].key", "required")
case(
    "game-key-shared",
    V,
    setter("series", 1, "games", 0, "key", "sf1-1"),
    "series[1].games[0].key",
    'duplicate key "sf1-1"',
)
case("game-state-unknown", V, setter(*VAL_GAME, "state", "won"), "series[0].games[0].state")
case("game-time-missing", V, dropper(*VAL_GAME, "completed_at"), "series[0].games[0].completed_at", "required")
case("game-winner-outsider", V, setter(*VAL_GAME, "winner", "team-c"), "series[0].games[0].winner", "team-a")
case(
    "live-game-with-winner",
    V,
    setter("series", 1, "games", 1, "winner", "team-d"),
    "series[1].games[1].winner",
    "must be null",
)
case(
    "completed-game-no-winner-no-score",
    V,
    lambda doc: doc["series"][0]["games"][0].update(winner=None, score=None) or doc,
    "series[0].games[0].winner",
    "required",
)
case(
    "completed-game-no-winner-uneven",
    V,
    setter(*VAL_GAME, "winner", None),
    "series[0].games[0].winner",
    "not a draw",
)
case(
    "winner-with-lower-score",
    V,
    setter(*VAL_GAME, "winner", "team-b"),
    "series[0].games[0].winner",
    "higher score",
)
case(
    "winner-with-equal-score",
    V,
    setter(*VAL_GAME, "score", {"team-a": 12, "team-b": 12}),
    "series[0].games[0].winner",
    "higher score",
)
case("score-not-object", V, setter(*VAL_GAME, "score", [13, 9]), "series[0].games[0].score", "must be an object")
case("score-one-side", V, setter(*VAL_GAME, "score", {"team-a": 13}), "series[0].games[0].score", "both")
case(
    "score-outsider",
    V,
    setter(*VAL_GAME, "score", {"team-a": 13, "team-b": 9, "team-c": 1}),
    "series[0].games[0].score.team-c",
    "not a participant",
)
case(
    "score-key-with-dot",
    V,
    setter(*VAL_GAME, "score", {"team-a": 13, "team-b": 9, "team.c": 1}),
    'series[0].games[0].score["team.c"]',
    "not a participant",
)
case(
    "score-negative",
    V,
    setter(*VAL_GAME, "score", {"team-a": 13, "team-b": -1}),
    "series[0].games[0].score.team-b",
    ">= 0",
)
case(
    "score-bool",
    V,
    setter(*VAL_GAME, "score", {"team-a": True, "team-b": False}),
    "series[0].games[0].score.team-a",
    "boolean",
)
# a completed tournament has no open lobby or game
case(
    "completed-tournament-live-lobby",
    "ff-weekly-cup",
    setter("tournament", "status", "completed"),
    "matches[3].state",
    "no match may be live or disputed",
)
case("slug-all-digits", "ff-weekly-cup", setter("tournament", "slug", "2025"), "tournament.slug", "needs a letter")
case(
    "completed-tournament-disputed-lobby",
    "pmcs-group-a",
    setter("tournament", "status", "completed"),
    "matches[2].state",
    '"disputed"',
)
case(
    "completed-tournament-live-game",
    V,
    setter("tournament", "status", "completed"),
    "series[1].games[1].state",
    '"live"',
)


def build(examples_dir: str, base: str) -> dict[str, Any]:
    return br_doc() if base == "br" else example(examples_dir, base)


@pytest.mark.parametrize(("base", "change", "place", "fragment"), INVALID)
def test_invalid_file_is_refused_whole(app, runner, tmp_path, examples_dir, base, change, place, fragment):
    doc = change(build(examples_dir, base))
    result = invoke(runner, "import", write(tmp_path, doc), "--json")
    assert_refused(result, place, fragment)
    assert set(row_counts(app).values()) == {0}


def test_invalid_cases_are_many_and_distinct():
    ids = [p.id for p in INVALID]
    assert len(ids) == len(set(ids)) >= 40


def test_exact_message_from_the_contract(app, examples_dir):
    doc = example(examples_dir, "ff-weekly-cup")
    doc["matches"][3]["results"] = [{"participant": f"team-{i}", "placement": i, "kills": 0} for i in range(1, 4)]
    doc["matches"][3]["results"][2]["placement"] = 0
    with app.app_context(), pytest.raises(ValidationError) as caught:
        tf.validate_document(doc)
    assert caught.value.message == "matches[3].results[2].placement: must be >= 1"


def test_slug_in_use_is_refused(app, runner, examples_dir):
    path = os.path.join(examples_dir, "ff-weekly-cup.json")
    assert invoke(runner, "import", path).exit_code == 0
    before = row_counts(app)
    line = assert_refused(invoke(runner, "import", path, "--json"), "tournament.slug", "already in use")
    assert "refused" in line
    assert row_counts(app) == before


def test_slug_taken_between_check_and_insert(app, examples_dir, monkeypatch):
    """The unique index is the last word when two imports race for one slug."""
    doc = example(examples_dir, "ff-weekly-cup")
    with app.app_context():
        tf.import_tournament(doc)
        monkeypatch.setattr(tf.validation, "has_app_context", lambda: False)  # skip the early check
        with pytest.raises(ValidationError, match=r"^tournament\.slug: .*already in use"):
            tf.import_tournament(doc)
    counts = row_counts(app)
    assert counts["tournaments"] == 1 and counts["matches"] == 4


# --------------------------------------------------------------------------- unreadable files


def test_missing_file(app, runner, tmp_path):
    path = str(tmp_path / "nope.json")
    assert_refused(invoke(runner, "import", path), path, "no such file")


def test_directory(app, runner, tmp_path):
    assert_refused(invoke(runner, "import", str(tmp_path)), str(tmp_path), "directory")


@pytest.mark.parametrize("content", [b"", b"  \n\t\n"], ids=["empty", "whitespace"])
def test_empty_file(app, runner, tmp_path, content):
    path = tmp_path / "empty.json"
    path.write_bytes(content)
    assert_refused(invoke(runner, "import", str(path)), str(path), "empty")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{\n  "format": "deltacrown.tournament/v1",\n  "tournament": {,\n}', "line 3, column 18"),
        (b'{"format": "x"', "line 1, column 15"),
        (b"{'format': 1}", "line 1, column 2"),
        (b'{"format": "x"} trailing', "line 1, column 17"),
        (b'{"a": NaN}', "NaN"),
        (b'{"a": 1, "a": 2}', 'the key "a" appears twice'),
        (b'{"name": "\xff"}', "not UTF-8"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
    ],
    ids=["syntax", "truncated", "single-quotes", "trailing-data", "nan", "duplicate-key", "not-utf8", "deep"],
)
def test_invalid_json(app, runner, tmp_path, content, fragment):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    line = assert_refused(invoke(runner, "import", str(path)), str(path), fragment)
    if "line" in fragment:
        assert "invalid JSON" in line
    assert set(row_counts(app).values()) == {0}


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(app, runner, tmp_path):
    path = tmp_path / "secret.json"
    path.write_text("{}")
    path.chmod(0)
    assert_refused(invoke(runner, "import", str(path)), str(path), "permission denied")


def test_byte_order_mark_is_accepted(app, runner, tmp_path, examples_dir):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(example(examples_dir, "ff-weekly-cup")).encode())
    assert invoke(runner, "import", str(path), "--json").exit_code == 0


# --------------------------------------------------------------------------- export


@pytest.mark.parametrize("name", EXAMPLES)
def test_export_equals_example(app, runner, examples_dir, name):
    assert invoke(runner, "import", os.path.join(examples_dir, f"{name}.json")).exit_code == 0
    doc = example(examples_dir, name)
    result = invoke(runner, "export", doc["tournament"]["slug"])
    assert result.exit_code == 0, result.output
    exported = json.loads(result.stdout)
    assert exported == normalise(doc)
    assert list(exported) == list(normalise(doc))  # the examples' key order
    assert list(exported["tournament"]) == [
        "name",
        "slug",
        "game",
        "status",
        *(["scoring"] if "matches" in exported else []),
    ]
    assert result.stdout.startswith('{\n  "format": "deltacrown.tournament/v1",\n')


@pytest.mark.parametrize("name", EXAMPLES)
def test_import_export_import(app, runner, tmp_path, examples_dir, name):
    """A re-imported export is the same tournament: the same file and the same standings."""
    assert invoke(runner, "import", os.path.join(examples_dir, f"{name}.json")).exit_code == 0
    slug = example(examples_dir, name)["tournament"]["slug"]
    first = json.loads(invoke(runner, "export", slug).stdout)
    copy_doc = copy.deepcopy(first)
    copy_doc["tournament"]["slug"] = "copy-" + slug
    result = invoke(runner, "import", write(tmp_path, copy_doc), "--json")
    assert result.exit_code == 0, result.output
    second = json.loads(invoke(runner, "export", "copy-" + slug).stdout)
    second["tournament"]["slug"] = slug
    assert second == first
    with app.app_context():
        assert standings_of(slug, first) == standings_of("copy-" + slug, first)


def standings_of(slug: str, doc: dict[str, Any]) -> Any:
    """Everything the leaderboard shows, without database ids."""
    from app.services.standings.leaderboard import LeaderboardService

    if "matches" in doc:
        stages = sorted({m["stage"] for m in doc["matches"] if m["stage"]})
        return [LeaderboardService.calculate_br_standings(slug)] + [
            LeaderboardService.calculate_br_standings(slug, stage=stage) for stage in stages
        ]
    summaries = []
    for series in doc["series"]:
        summary = LeaderboardService.series_summary_by_key(slug, series["key"])
        summary.pop("series_id")
        for game in summary["games"]:
            game.pop("match_id")
        summaries.append(summary)
    return summaries


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ff-weekly-cup", "ff-weekly-cup.standings.json"),
        ("pmcs-group-a", "pmcs-group-a.standings.json"),
        ("val-campus-playoffs", "val-campus-playoffs.series.sf1.json"),
        ("val-campus-playoffs", "val-campus-playoffs.series.gf.json"),
    ],
)
def test_imported_examples_give_the_contract_results(app, examples_dir, name, expected):
    doc = example(examples_dir, name)
    with open(os.path.join(examples_dir, expected), encoding="utf-8") as handle:
        wanted = json.load(handle)
    with app.app_context():
        tf.import_tournament(doc)
        found = standings_of(doc["tournament"]["slug"], normalise(doc))
    if "matches" in doc:
        assert found[0] == wanted
    else:
        assert wanted in found


def test_export_unknown_slug(app, runner):
    result = invoke(runner, "export", "nope")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert (result.stdout, result.stderr) == ("", 'Error: no tournament with slug "nope"\n')


def test_export_unknown_slug_service(app):
    with app.app_context(), pytest.raises(NotFound):
        tf.export_tournament("nope")


def test_custom_scoring_tags_and_times_round_trip(app):
    doc = br_doc(status="registration")
    doc["tournament"]["scoring"] = {
        "preset": "custom",
        "placement_points": [20, 14, 10],
        "kill_points": 2,
        "tiebreakers": ["total_kills", "wins"],
    }
    doc["participants"][0]["tag"] = "ALP"
    doc["participants"][1]["tag"] = None
    doc["matches"][0]["completed_at"] = "2025-11-13T20:00:00.25+06:00"
    doc["matches"].append({"key": "m2", "state": "scheduled"})
    doc["matches"].append({"key": "m3", "state": "cancelled", "completed_at": "2025-11-13 16:00:00.123456z"})
    with app.app_context():
        tf.import_tournament(doc)
        tournament = db.session.scalars(select(Tournament)).one()
        assert (tournament.scoring_preset, tournament.placement_points, tournament.kill_points) == (
            "custom",
            [20, 14, 10],
            2,
        )
        assert tournament.tiebreakers == ["total_kills", "wins"]
        exported = tf.export_tournament("cup")
    assert exported["tournament"]["scoring"] == doc["tournament"]["scoring"]
    assert exported["tournament"]["status"] == "registration"
    assert exported["participants"][:2] == [{"id": "a", "name": "Alpha", "tag": "ALP"}, {"id": "b", "name": "Bravo"}]
    assert [m["completed_at"] for m in exported["matches"]] == [
        "2025-11-13T14:00:00.250Z",
        None,
        "2025-11-13T16:00:00.123456Z",
    ]
    assert exported["matches"][1] == {
        "key": "m2",
        "stage": None,
        "state": "scheduled",
        "completed_at": None,
        "results": [],
    }
    assert exported == normalise(doc)


def test_series_without_name_and_draw_round_trip(app):
    doc = {
        "format": tf.FORMAT,
        "tournament": {"name": "Bo2 Cup", "slug": "bo2", "game": "cs2", "status": "draft"},
        "participants": [{"id": "x", "name": "X"}, {"id": "y", "name": "Y"}],
        "series": [
            {
                "key": "s",
                "best_of": 2,
                "participants": ["y", "x"],
                "games": [
                    {
                        "key": "g1",
                        "state": "completed",
                        "completed_at": "2025-01-01T00:00:00Z",
                        "score": {"x": 15, "y": 15},
                    },
                    {"key": "g2", "state": "completed", "completed_at": "2025-01-01T01:00:00Z", "winner": "x"},
                ],
            }
        ],
    }
    with app.app_context():
        tf.import_tournament(doc)
        game = db.session.scalars(select(Match).where(Match.key == "g1")).one()
        assert (game.winner_id, game.score_a, game.score_b) == (None, 15, 15)
        exported = tf.export_tournament("bo2")
    assert exported == normalise(doc)
    assert "name" not in exported["series"][0]


@pytest.mark.parametrize("best_of", [1, 2, 3, 5, 7])
def test_best_of_choices(app, best_of):
    needed = best_of // 2 + 1
    games = [
        {"key": f"g{i}", "state": "completed", "completed_at": "2025-01-01T00:00:00Z", "winner": "x"}
        for i in range(needed)
    ]
    doc = {
        "format": tf.FORMAT,
        "tournament": {"name": "Series", "slug": "s", "game": "dota2"},
        "participants": [{"id": "x", "name": "X"}, {"id": "y", "name": "Y"}],
        "series": [{"key": "s", "best_of": best_of, "participants": ["x", "y"], "games": games}],
    }
    with app.app_context():
        tf.import_tournament(copy.deepcopy(doc))
        doc["tournament"]["slug"] = "s-2"
        doc["series"][0]["games"].append({"key": "late", "state": "scheduled"})
        expected = (
            rf"games: a best-of-{best_of} series has at most {best_of} games"
            if needed == best_of
            else rf"games\[{needed}\]: the series was already decided by game {needed}$"
        )
        with pytest.raises(ValidationError, match=expected):
            tf.validate_document(doc)


# --------------------------------------------------------------------------- the service API


def test_validate_match_entry_for_the_api():
    entry = {
        "results": [{"participant": "a", "placement": 2, "kills": 0}, {"participant": "b", "placement": 1, "kills": 4}]
    }
    entry["completed_at"] = "2025-11-13T14:00:00+01:00"
    normal = tf.validate_match_entry(entry, "", {"a", "b"})
    assert normal == {
        "key": None,
        "stage": None,
        "state": "completed",
        "completed_at": datetime(2025, 11, 13, 13, 0, tzinfo=UTC),
        "results": [
            {"participant": "a", "placement": 2, "kills": 0},
            {"participant": "b", "placement": 1, "kills": 4},
        ],
    }
    with pytest.raises(ValidationError, match=r'^key: duplicate key "m1"'):
        tf.validate_match_entry({**entry, "key": "m1"}, "", {"a", "b"}, {"m1"})
    with pytest.raises(ValidationError, match=r"^results\[1\]\.participant: unknown participant"):
        tf.validate_match_entry(entry, "", {"a"})
    with pytest.raises(ValidationError, match=r"^entry: must be an object"):
        tf.validate_match_entry([], "", {"a"})
    with pytest.raises(ValidationError, match=r"^matches\[0\]\.key: required"):
        tf.validate_match_entry(entry, "matches[0]", {"a", "b"}, require_key=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-11-13T14:00:00Z", datetime(2025, 11, 13, 14, 0, tzinfo=UTC)),
        ("2025-11-13T20:00:00+06:00", datetime(2025, 11, 13, 14, 0, tzinfo=UTC)),
        ("2025-11-13T09:00:00-0500", datetime(2025, 11, 13, 14, 0, tzinfo=UTC)),
        ("2025-11-13T14:00Z", datetime(2025, 11, 13, 14, 0, tzinfo=UTC)),
        ("2025-11-13T14:00:00.123456789Z", datetime(2025, 11, 13, 14, 0, 0, 123456, tzinfo=UTC)),
        (None, None),
    ],
)
def test_parse_timestamp(text, expected):
    value = tf.parse_timestamp(text, "at")
    assert value == expected
    if value is not None:
        assert value.tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["2025-11-13T14:00:00", "2025-11-13", "14:00", "", "2025-13-01T00:00:00Z", "0001-01-01T00:00:00+01:00"]
)
def test_parse_timestamp_refuses(text):
    with pytest.raises(ValidationError, match=r"^at: "):
        tf.parse_timestamp(text, "at")


def test_format_timestamp():
    plus_six = timezone(timedelta(hours=6))
    assert tf.format_timestamp(datetime(2025, 11, 13, 20, 0, tzinfo=plus_six)) == "2025-11-13T14:00:00Z"
    assert tf.format_timestamp(datetime(2025, 11, 13, 14, 0, 0, 5, tzinfo=UTC)) == "2025-11-13T14:00:00.000005Z"
    assert tf.format_timestamp(None) is None


def test_load_file_returns_the_document(tmp_path, examples_dir):
    doc = example(examples_dir, "pmcs-group-a")
    assert tf.load_file(write(tmp_path, doc)) == doc


def test_validate_document_without_a_database(examples_dir):
    for name in EXAMPLES:
        tf.validate_document(example(examples_dir, name))


def test_import_result_and_progress(app, examples_dir):
    calls: list[tuple[int, int]] = []
    with app.app_context():
        result = tf.import_tournament(
            example(examples_dir, "val-campus-playoffs"), progress=lambda d, t: calls.append((d, t))
        )
    assert isinstance(result, tf.ImportResult)
    assert result.slug == "val-campus-playoffs"
    assert calls and calls[-1] == (7, 7)
    assert all(done <= total for done, total in calls)


def test_error_midway_stores_nothing(app, examples_dir):
    def explode(done: int, total: int) -> None:
        if done:
            raise RuntimeError("disk full")

    with app.app_context(), pytest.raises(RuntimeError):
        tf.import_tournament(example(examples_dir, "ff-weekly-cup"), progress=explode)
    assert set(row_counts(app).values()) == {0}


def completed_ff(examples_dir: str) -> dict[str, Any]:
    doc = example(examples_dir, "ff-weekly-cup")
    doc["tournament"]["status"] = "completed"
    doc["matches"][3]["state"] = "cancelled"
    return doc


def test_completed_tournament_freezes_before_commit(app, examples_dir, monkeypatch):
    frozen: list[tuple[int, int]] = []

    def freeze_results(tournament_id: int) -> None:
        # Called inside the import's transaction: the rows are there, not yet committed.
        frozen.append((tournament_id, db.session.scalar(select(func.count()).select_from(MatchResult))))

    monkeypatch.setattr(final_results, "freeze_results", freeze_results)
    with app.app_context():
        result = tf.import_tournament(completed_ff(examples_dir))
    assert frozen == [(result.tournament_id, 18)]


def test_freeze_failure_stores_nothing(app, examples_dir, monkeypatch):
    def freeze_results(tournament_id: int) -> None:
        raise ValidationError("cannot freeze")

    monkeypatch.setattr(final_results, "freeze_results", freeze_results)
    with app.app_context(), pytest.raises(ValidationError):
        tf.import_tournament(completed_ff(examples_dir))
    assert set(row_counts(app).values()) == {0}


def test_completed_tournament_is_frozen_on_import(app, runner, tmp_path, examples_dir):
    from app.models import TournamentResult

    result = invoke(runner, "import", write(tmp_path, completed_ff(examples_dir)), "--json")
    assert result.exit_code == 0, result.output
    tournament_id = json.loads(result.stdout)["id"]
    with app.app_context():
        tournament = db.session.get(Tournament, tournament_id)
        assert tournament.status == "completed"
        assert tournament.completed_at == datetime(2025, 11, 14, 14, 0, tzinfo=UTC)  # the last result
        rows = db.session.scalars(select(TournamentResult).order_by(TournamentResult.frozen_position)).all()
        assert len(rows) == 6 and {r.tournament_id for r in rows} == {tournament_id}
        assert rows[0].rank == 1


def test_completed_series_tournament_imports(app, examples_dir):
    from app.models import TournamentResult

    doc = example(examples_dir, "val-campus-playoffs")
    doc["tournament"]["status"] = "completed"
    doc["series"][1]["games"][1].update(state="cancelled", score=None)
    with app.app_context():
        result = tf.import_tournament(doc)
        assert db.session.scalar(select(func.count()).select_from(TournamentResult)) > 0
        assert tf.export_tournament("val-campus-playoffs") == normalise(doc)
    assert result.series.keys() == {"sf1", "sf2", "show", "gf"}


# --------------------------------------------------------------------------- size


def big_doc(teams: int, lobbies: int) -> dict[str, Any]:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    return {
        "format": tf.FORMAT,
        "tournament": {"name": "Big", "slug": "big", "game": "pubgm"},
        "participants": [{"id": f"t{i}", "name": f"Team {i}"} for i in range(teams)],
        "matches": [
            {
                "key": f"m{j}",
                "state": "completed",
                "completed_at": tf.format_timestamp(start + timedelta(minutes=j)),
                "results": [
                    {"participant": f"t{(i + j) % teams}", "placement": i + 1, "kills": (i * j) % 7}
                    for i in range(teams)
                ],
            }
            for j in range(lobbies)
        ],
    }


@pytest.mark.slow
def test_100k_results_import_in_seconds(app, runner, tmp_path):
    path = write(tmp_path, big_doc(teams=50, lobbies=2000))
    started = time.monotonic()
    result = invoke(runner, "import", path, "--json")
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)  # progress went to stderr, not here
    assert len(out["matches"]) == 2000
    assert "Importing" in result.stderr
    assert row_counts(app)["match_results"] == 100_000
    assert elapsed < 30, f"import took {elapsed:.1f}s"


# --------------------------------------------------------------------------- property


_slugs = itertools.count()


@st.composite
def br_documents(draw) -> dict[str, Any]:
    teams = draw(st.integers(min_value=1, max_value=8))
    participants = [
        {"id": f"p{i}", "name": f"Team {i}", **({"tag": f"T{i}"} if draw(st.booleans()) else {})} for i in range(teams)
    ]
    matches = []
    for j in range(draw(st.integers(min_value=0, max_value=5))):
        state = draw(st.sampled_from(["scheduled", "live", "completed", "disputed", "cancelled"]))
        order = draw(st.permutations(range(teams)))
        played = order[: draw(st.integers(min_value=1 if state in ("completed", "disputed") else 0, max_value=teams))]
        placements = draw(st.lists(st.integers(1, 100), min_size=len(played), max_size=len(played), unique=True))
        when = None
        if state in ("completed", "disputed") or (state == "cancelled" and draw(st.booleans())):
            moment = draw(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)))
            offset = timezone(timedelta(minutes=draw(st.integers(-12 * 60, 14 * 60))))
            when = moment.replace(tzinfo=offset).isoformat()
        match: dict[str, Any] = {
            "key": f"m{j}",
            "state": state,
            "completed_at": when,
            "results": [
                {"participant": f"p{i}", "placement": placement, "kills": draw(st.integers(0, 1000))}
                for i, placement in zip(played, placements, strict=True)
            ],
        }
        if draw(st.booleans()):
            match["stage"] = draw(st.sampled_from(["Day 1", "Day 2", "Finals"]))
        matches.append(match)
    adjustments = [
        {"participant": f"p{draw(st.integers(0, teams - 1))}", "points": points, "reason": "Penalty"}
        for points in draw(st.lists(st.integers(-10000, 10000).filter(bool), max_size=3))
    ]
    return {
        "format": tf.FORMAT,
        "tournament": {
            "name": "Random",
            "slug": f"random-{next(_slugs)}",
            "game": draw(st.sampled_from(["freefire", "pubgm"])),
            "status": draw(st.sampled_from(["draft", "registration", "live"])),
        },
        "participants": participants,
        "matches": matches,
        "adjustments": adjustments,
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=br_documents())
def test_any_valid_file_exports_as_imported(app, doc):
    with app.app_context():
        tf.import_tournament(doc)
        assert tf.export_tournament(doc["tournament"]["slug"]) == normalise(doc)


# --------------------------------------------------------------------------- additions (issue 6)


def test_advancing_imports_exports_and_reaches_the_api(app, runner, client, tmp_path, examples_dir):
    doc = example(examples_dir, "ff-weekly-cup")
    doc["tournament"]["advancing"] = 2
    result = invoke(runner, "import", write(tmp_path, doc))
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(Tournament.advancing).filter_by(slug="ff-weekly-cup")) == 2
    exported = json.loads(invoke(runner, "export", "ff-weekly-cup").stdout)
    assert exported["tournament"]["advancing"] == 2
    assert list(exported["tournament"]) == ["name", "slug", "game", "status", "advancing", "scoring"]
    assert client.get("/api/tournaments/ff-weekly-cup/").get_json()["advancing"] == 2
    schema = client.get("/api/openapi.json").get_json()
    assert "advancing" in json.dumps(schema)


def test_without_advancing_the_export_has_no_key(app, runner, tmp_path, examples_dir):
    assert invoke(runner, "import", write(tmp_path, example(examples_dir, "ff-weekly-cup"))).exit_code == 0
    exported = json.loads(invoke(runner, "export", "ff-weekly-cup").stdout)
    assert "advancing" not in exported["tournament"]


@pytest.mark.parametrize(
    ("name", "key"), [("val-campus-playoffs", "matches"), ("val-campus-playoffs", "adjustments"), ("br", "series")]
)
def test_an_empty_list_of_the_other_kind_is_accepted(app, runner, tmp_path, examples_dir, name, key):
    doc = build(examples_dir, name)
    doc[key] = []
    result = invoke(runner, "import", write(tmp_path, doc))
    assert result.exit_code == 0, result.output
