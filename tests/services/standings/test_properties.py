"""Property tests for battle-royale standings (contract §1, §2, §3), on random tournament files.

Every example is a whole `deltacrown.tournament/v1` document: 2-10 teams, 0-6 lobbies in mixed
states, every preset (custom ones with random tables and tiebreaker orders), adjustments, and
plenty of ties (small kill ranges, shared timestamps). It goes through the real importer, and the
standings are checked against:

1. their shape: a ranking of exactly the teams with a counted result, ranks 1, 2, 2, 4 style,
   `decided_by` null exactly on the first row and on shared ranks, totals that add up;
2. shared ranks only between rows equal on total points and every tiebreaker of the ruleset;
3. import -> export -> import (under another slug) giving identical standings;
4. a small brute-force oracle written here from the contract text alone (it does not use
   `app.scoring`), with and without stage / match filters.

The `app` fixture is function-scoped while hypothesis runs many examples per test, so every
example works in its own app context on a tournament with a fresh slug.
"""

from __future__ import annotations

import copy
import functools
import uuid
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.scoring import TIEBREAKER_KEYS
from app.services.standings.leaderboard import LeaderboardService as LS
from app.services.tournaments import file as tf

# ------------------------------------------------------------------------------ the contract, retyped

# Contract §1, copied from the table by hand (not imported from app.scoring), so that a
# mistake in the app's table is caught here.
CONTRACT_PRESETS: dict[str, tuple[list[int], int, list[str]]] = {
    "ffws": ([12, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0], 1, ["wins", "total_kills", "last_match_placement"]),
    "pmgc": ([10, 6, 5, 4, 3, 2, 1, 1], 1, ["wins", "placement_points", "total_kills", "last_match_placement"]),
    "pubgm-2020": (
        [15, 12, 10, 8, 6, 4, 2, 1, 1, 1, 1, 1],
        1,
        ["wins", "placement_points", "total_kills", "last_match_placement"],
    ),
    "deltacrown": (
        [12, 9, 7, 5, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1],
        1,
        ["total_kills", "best_placement", "earliest_completion"],
    ),
}
CONTRACT_DEFAULT = {"freefire": "ffws", "pubgm": "pmgc"}
ALL_TIEBREAKERS = (
    "wins",
    "placement_points",
    "total_kills",
    "best_placement",
    "avg_placement",
    "last_match_placement",
    "earliest_completion",
)

T0 = datetime(2025, 11, 13, 14, 0, tzinfo=UTC)
# Mixed case and a non-ASCII letter: "listed by name" must not put every capital first.
NAMES = (
    "alpha Wolves",
    "Bravo Esports",
    "charlie",
    "Delta Force BD",
    "echo <Team>",
    "Foxtrot",
    "golf Gaming",
    "Hotel 9",
    "Ünited Squad",
    "india",
    "Juliet",
    "kilo",
)
STAGES = ("Day 1", "Day 2")

PROPERTY_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# ------------------------------------------------------------------------------ strategy


def _timestamp(draw) -> str:
    """Few distinct values, so equal completion times are common; some with fractions or an
    offset instead of Z (the same instant written differently)."""
    minutes = draw(st.sampled_from([0, 0, 30, 60, 90, 120]))
    fraction = draw(st.sampled_from(["", "", "", ".250", ".5"]))
    moment = T0 + timedelta(minutes=minutes)
    if draw(st.integers(0, 5)) == 0:
        local = moment + timedelta(hours=6)
        return local.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "+06:00"
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


@st.composite
def tournament_docs(draw) -> dict[str, Any]:
    count = draw(st.integers(2, 10))
    names = draw(st.permutations(NAMES))[:count]
    keys = [f"team-{i}" for i in draw(st.permutations(range(1, count + 1)))]
    participants = [{"id": k, "name": n} for k, n in zip(keys, names, strict=True)]

    game = draw(st.sampled_from(["freefire", "pubgm"]))
    preset = draw(st.sampled_from([None, "ffws", "pmgc", "pubgm-2020", "deltacrown", "custom", "custom"]))
    tournament: dict[str, Any] = {"name": "Property Cup", "slug": "placeholder", "game": game}
    if preset == "custom":
        top = draw(st.sampled_from([1, 3, 15]))
        scoring: dict[str, Any] = {
            "preset": "custom",
            # Often shorter than a lobby: placements past the end of the table score 0.
            "placement_points": draw(
                st.lists(st.integers(0, top), min_size=1, max_size=draw(st.sampled_from([1, 3, count - 1, 12])))
            ),
            "kill_points": draw(st.integers(0, 3)),
        }
        if draw(st.booleans()):
            order = draw(st.permutations(TIEBREAKER_KEYS))
            scoring["tiebreakers"] = list(order[: draw(st.integers(0, len(order)))])
        tournament["scoring"] = scoring
    elif preset is not None:
        tournament["scoring"] = {"preset": preset}

    kills_top = draw(st.sampled_from([0, 0, 1, 2, 15]))
    matches = []
    for i in range(draw(st.integers(0, 6))):
        state = draw(st.sampled_from(["completed"] * 6 + ["disputed", "live", "scheduled", "cancelled"]))
        if state in ("completed", "disputed"):
            completed_at = _timestamp(draw)
        elif state == "cancelled":
            completed_at = _timestamp(draw) if draw(st.booleans()) else None
        else:
            completed_at = None
        least = 1 if state in ("completed", "disputed") else 0
        playing = draw(st.lists(st.sampled_from(keys), min_size=least, max_size=count, unique=True))
        placements = draw(st.permutations(range(1, len(playing) + 1)))
        results = [
            {"participant": p, "placement": placement, "kills": draw(st.integers(0, kills_top))}
            for p, placement in zip(playing, placements, strict=True)
        ]
        matches.append(
            {
                "key": f"m{i + 1}",
                "stage": draw(st.sampled_from([None, *STAGES])),
                "state": state,
                "completed_at": completed_at,
                "results": results,
            }
        )

    adjustments = [
        {"participant": draw(st.sampled_from(keys)), "points": points, "reason": "Late to lobby"}
        for points in draw(st.lists(st.integers(-6, 6).filter(bool), max_size=3))
    ]
    all_final = all(m["state"] in ("completed", "cancelled") for m in matches)
    tournament["status"] = draw(st.sampled_from(["live", "completed"])) if all_final else "live"
    return {
        "format": "deltacrown.tournament/v1",
        "tournament": tournament,
        "participants": participants,
        "matches": matches,
        "adjustments": adjustments,
    }


def _import(doc: dict[str, Any]) -> tf.ImportResult:
    doc = copy.deepcopy(doc)
    doc["tournament"]["slug"] = f"prop-{uuid.uuid4().hex[:12]}"
    return tf.import_tournament(doc)


# ------------------------------------------------------------------------------ the oracle


def _ruleset(doc: dict[str, Any]) -> tuple[list[int], int, list[str]]:
    tournament = doc["tournament"]
    scoring = tournament.get("scoring") or {}
    preset = scoring.get("preset") or CONTRACT_DEFAULT[tournament["game"]]
    if preset == "custom":
        return scoring["placement_points"], scoring["kill_points"], list(scoring.get("tiebreakers") or [])
    return CONTRACT_PRESETS[preset]


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _counted(doc: dict[str, Any], stage: str | None = None, keys: set[str] | None = None) -> list[dict[str, Any]]:
    """Completed lobbies, oldest first: by completed_at, then by order in the file."""
    lobbies = [
        (index, m)
        for index, m in enumerate(doc["matches"])
        if m["state"] == "completed" and (stage is None or m["stage"] == stage) and (keys is None or m["key"] in keys)
    ]
    lobbies.sort(key=lambda item: (_parse(item[1]["completed_at"]), item[0]))
    return [m for _, m in lobbies]


def team_stats(doc: dict[str, Any], stage: str | None = None, keys: set[str] | None = None) -> dict[str, dict]:
    """Per team with a counted result: every quantity a tiebreaker can look at, exactly."""
    table, per_kill, _ = _ruleset(doc)
    lobbies = _counted(doc, stage, keys)
    stats: dict[str, dict] = {}
    for index, lobby in enumerate(lobbies):
        for r in lobby["results"]:
            s = stats.setdefault(
                r["participant"],
                {"placement_points": 0, "kills": 0, "wins": 0, "placements": {}, "latest": None},
            )
            place = r["placement"]
            s["placement_points"] += table[place - 1] if place <= len(table) else 0
            s["kills"] += r["kills"]
            s["wins"] += place == 1
            s["placements"][index] = place
            s["latest"] = _parse(lobby["completed_at"])
    filtered = stage is not None or keys is not None
    for key, s in stats.items():
        places = list(s["placements"].values())
        s["played"] = len(places)
        s["best"] = min(places)
        s["avg"] = Fraction(sum(places), len(places))
        # Most recent first; a lobby not played is worse than any placement.
        s["history"] = tuple(s["placements"].get(i, float("inf")) for i in reversed(range(len(lobbies))))
        s["kill_points"] = s["kills"] * per_kill
        s["adjustment"] = 0 if filtered else sum(a["points"] for a in doc["adjustments"] if a["participant"] == key)
        s["total"] = s["placement_points"] + s["kill_points"] + s["adjustment"]
    return stats


def _key_value(key: str, s: dict) -> Any:
    """Smaller is better, for every key."""
    return {
        "total_points": -s["total"],
        "wins": -s["wins"],
        "placement_points": -s["placement_points"],
        "total_kills": -s["kills"],
        "best_placement": s["best"],
        "avg_placement": s["avg"],
        "last_match_placement": s["history"],
        "earliest_completion": s["latest"],
    }[key]


def oracle(doc: dict[str, Any], stage: str | None = None, keys: set[str] | None = None) -> list[dict[str, Any]]:
    """The standings, by brute force from the contract: pairwise comparison on total points and
    the ruleset's tiebreakers in order; equal teams share a rank and are listed by name."""
    _, _, tiebreakers = _ruleset(doc)
    order = ["total_points", *tiebreakers]
    stats = team_stats(doc, stage, keys)
    names = {p["id"]: p["name"] for p in doc["participants"]}

    def first_difference(a: str, b: str) -> str | None:
        return next((k for k in order if _key_value(k, stats[a]) != _key_value(k, stats[b])), None)

    def compare(a: str, b: str) -> int:
        key = first_difference(a, b)
        if key is not None:
            return -1 if _key_value(key, stats[a]) < _key_value(key, stats[b]) else 1
        fa, fb = names[a].casefold(), names[b].casefold()
        return (fa > fb) - (fa < fb)

    ranked = sorted(stats, key=functools.cmp_to_key(compare))
    rows = []
    for position, team in enumerate(ranked, start=1):
        s = stats[team]
        decided_by = first_difference(ranked[position - 2], team) if position > 1 else None
        shared = position > 1 and decided_by is None
        avg = Decimal(s["avg"].numerator) / Decimal(s["avg"].denominator)
        rows.append(
            {
                "rank": rows[-1]["rank"] if shared else position,
                "participant_id": team,
                "participant_name": names[team],
                "total_points": s["total"],
                "placement_points": s["placement_points"],
                "kill_points": s["kill_points"],
                "adjustment_points": s["adjustment"],
                "total_kills": s["kills"],
                "wins": s["wins"],
                "best_placement": s["best"],
                "matches_played": s["played"],
                "avg_placement": float(avg.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)),
                "tiebreaker_timestamp": s["latest"],
                "decided_by": decided_by,
            }
        )
    return rows


def assert_matches_oracle(actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert [r["participant_id"] for r in actual] == [r["participant_id"] for r in expected]
    for got, want in zip(actual, expected, strict=True):
        stamp = got["tiebreaker_timestamp"]
        assert isinstance(stamp, str) and stamp.endswith("Z"), stamp
        # The contract fixes ISO 8601 UTC with Z, not the number of fraction digits.
        assert abs(_parse(stamp) - want["tiebreaker_timestamp"]) < timedelta(milliseconds=1), (stamp, want)
        assert {k: v for k, v in got.items() if k != "tiebreaker_timestamp"} == {
            k: v for k, v in want.items() if k != "tiebreaker_timestamp"
        }


# ------------------------------------------------------------------------------ properties


def check_shape(rows: list[dict[str, Any]], doc: dict[str, Any]) -> None:
    counted = {r["participant"] for m in doc["matches"] if m["state"] == "completed" for r in m["results"]}
    ids = [r["participant_id"] for r in rows]
    assert len(ids) == len(set(ids)) and set(ids) == counted
    order = ["total_points", *_ruleset(doc)[2]]
    for position, row in enumerate(rows, start=1):
        assert row["total_points"] == row["placement_points"] + row["kill_points"] + row["adjustment_points"]
        if position == 1:
            assert row["rank"] == 1 and row["decided_by"] is None
            continue
        above = rows[position - 2]
        assert row["rank"] >= above["rank"]
        shared = row["rank"] == above["rank"]
        assert shared or row["rank"] == position
        assert (row["decided_by"] is None) == shared
        if not shared:
            assert row["decided_by"] in order


def check_shared_ranks(rows: list[dict[str, Any]], doc: dict[str, Any]) -> None:
    """Rows share a rank only when equal on total points and every tiebreaker (from the row
    fields where they carry the value, from the file for the exact ones); a row that does not
    share is equal above on every key before its `decided_by` and worse on that one."""
    order = ["total_points", *_ruleset(doc)[2]]
    stats = team_stats(doc)
    from_row = {
        "total_points": lambda r: -r["total_points"],
        "wins": lambda r: -r["wins"],
        "placement_points": lambda r: -r["placement_points"],
        "total_kills": lambda r: -r["total_kills"],
        "best_placement": lambda r: r["best_placement"],
        "earliest_completion": lambda r: _parse(r["tiebreaker_timestamp"]),
    }

    def value(key: str, row: dict[str, Any]) -> Any:
        if key in from_row:
            return from_row[key](row)
        return _key_value(key, stats[row["participant_id"]])

    for above, row in zip(rows, rows[1:], strict=False):
        if row["rank"] == above["rank"]:
            for key in order:
                assert value(key, row) == value(key, above), (key, above, row)
            assert above["participant_name"].casefold() < row["participant_name"].casefold()
        else:
            decisive = order.index(row["decided_by"])
            for key in order[:decisive]:
                assert value(key, row) == value(key, above), (key, above, row)
            assert value(row["decided_by"], row) > value(row["decided_by"], above), (above, row)


@PROPERTY_SETTINGS
@given(doc=tournament_docs())
def test_standings_shape_and_shared_ranks(app, doc):
    with app.app_context():
        imported = _import(doc)
        rows = LS.calculate_br_standings(imported.tournament_id)
        check_shape(rows, doc)
        check_shared_ranks(rows, doc)


@pytest.mark.slow
@PROPERTY_SETTINGS
@given(doc=tournament_docs())
def test_export_then_import_gives_the_same_standings(app, doc):
    with app.app_context():
        first = _import(doc)
        exported = tf.export_tournament(first.slug)
        tf.validate_document({**exported, "tournament": {**exported["tournament"], "slug": "not-taken-yet"}})
        second = _import(exported)
        assert LS.calculate_br_standings(second.tournament_id) == LS.calculate_br_standings(first.tournament_id)
        for stage in STAGES:
            assert LS.calculate_br_standings(second.tournament_id, stage=stage) == LS.calculate_br_standings(
                first.tournament_id, stage=stage
            )
        again = tf.export_tournament(second.slug)
        again["tournament"]["slug"] = exported["tournament"]["slug"]
        assert again == exported


@pytest.mark.slow
@PROPERTY_SETTINGS
@given(doc=tournament_docs(), data=st.data())
def test_standings_match_a_brute_force_oracle(app, doc, data):
    with app.app_context():
        imported = _import(doc)
        tid = imported.tournament_id
        assert_matches_oracle(LS.calculate_br_standings(tid), oracle(doc))
        stage = data.draw(st.sampled_from(STAGES), label="stage")
        assert_matches_oracle(LS.calculate_br_standings(tid, stage=stage), oracle(doc, stage=stage))
        if imported.matches:
            chosen = data.draw(
                st.lists(st.sampled_from(sorted(imported.matches)), min_size=1, unique=True), label="match keys"
            )
            rows = LS.calculate_br_standings(tid, match_ids=[imported.matches[k] for k in chosen])
            assert_matches_oracle(rows, oracle(doc, keys=set(chosen)))


# ------------------------------------------------------------------------------ an explicit example


def _order_doc(slug: str, late_first: bool, same_time: bool) -> dict[str, Any]:
    """A and B end equal on points (18), wins (0) and kills (1); C wins both lobbies. In lobby
    "late" A is 2nd and B 3rd, in "early" the other way round."""
    early = {
        "key": "early",
        "state": "completed",
        "completed_at": "2025-11-13T14:00:00Z",
        "results": [
            {"participant": "C", "placement": 1, "kills": 0},
            {"participant": "B", "placement": 2, "kills": 0},
            {"participant": "A", "placement": 3, "kills": 1},
        ],
    }
    late = {
        "key": "late",
        "state": "completed",
        "completed_at": "2025-11-13T14:00:00Z" if same_time else "2025-11-13T15:00:00Z",
        "results": [
            {"participant": "C", "placement": 1, "kills": 0},
            {"participant": "A", "placement": 2, "kills": 0},
            {"participant": "B", "placement": 3, "kills": 1},
        ],
    }
    return {
        "format": "deltacrown.tournament/v1",
        "tournament": {"name": slug, "slug": slug, "game": "freefire", "scoring": {"preset": "ffws"}},
        "participants": [{"id": k, "name": f"Team {k}"} for k in ("A", "B", "C")],
        "matches": [late, early] if late_first else [early, late],
    }


def test_lobby_order_is_completed_at_then_file_order(app):
    def standings(slug: str) -> list[tuple[str, int, str | None]]:
        return [(r["participant_id"], r["rank"], r["decided_by"]) for r in LS.calculate_br_standings(slug)]

    with app.app_context():
        # Times differ: "late" is the most recent match wherever the file lists it, so A (2nd
        # there) is ahead of B on last_match_placement.
        tf.import_tournament(_order_doc("late-listed-first", late_first=True, same_time=False))
        tf.import_tournament(_order_doc("late-listed-last", late_first=False, same_time=False))
        expected = [("C", 1, None), ("A", 2, "total_points"), ("B", 3, "last_match_placement")]
        assert standings("late-listed-first") == expected
        assert standings("late-listed-last") == expected

        # Equal times: the file order decides, the lobby listed last is the most recent.
        tf.import_tournament(_order_doc("same-time-late-first", late_first=True, same_time=True))
        tf.import_tournament(_order_doc("same-time-late-last", late_first=False, same_time=True))
        assert standings("same-time-late-first") == [
            ("C", 1, None),
            ("B", 2, "total_points"),
            ("A", 3, "last_match_placement"),
        ]
        assert standings("same-time-late-last") == expected

        # And an export keeps that order, so a re-import agrees.
        exported = tf.export_tournament("same-time-late-first")
        exported["tournament"]["slug"] = "same-time-again"
        tf.import_tournament(exported)
        assert standings("same-time-again") == standings("same-time-late-first")
