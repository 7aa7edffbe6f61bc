"""The contract's example files must produce exactly the expected outputs (contract examples/README)."""

from __future__ import annotations

import json
import os

import pytest


def _import(runner, examples_dir, name):
    result = runner.invoke(args=["tournaments", "import", os.path.join(examples_dir, name), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("source", "args", "expected"),
    [
        ("ff-weekly-cup.json", ["ff-weekly-cup"], "ff-weekly-cup.standings.json"),
        ("ff-weekly-cup.json", ["ff-weekly-cup", "--stage", "Day 1"], "ff-weekly-cup.standings.day-1.json"),
        ("pmcs-group-a.json", ["pmcs-group-a"], "pmcs-group-a.standings.json"),
    ],
)
def test_standings_match_expected_files_exactly(runner, examples_dir, source, args, expected):
    _import(runner, examples_dir, source)
    result = runner.invoke(args=["tournaments", "standings", *args, "--json"])
    assert result.exit_code == 0, result.output
    with open(os.path.join(examples_dir, expected), encoding="utf-8") as handle:
        assert result.stdout == handle.read()


@pytest.mark.parametrize("series_key", ["sf1", "sf2", "show", "gf"])
def test_series_match_expected_files(runner, examples_dir, series_key):
    ids = _import(runner, examples_dir, "val-campus-playoffs.json")
    result = runner.invoke(args=["tournaments", "series", "val-campus-playoffs", series_key, "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got.pop("series_id") == ids["series"][series_key]
    for game in got["games"]:
        game_key = f"{series_key}-{game['game_number']}"
        assert game.pop("match_id") == ids["matches"][game_key]
    with open(os.path.join(examples_dir, f"val-campus-playoffs.series.{series_key}.json"), encoding="utf-8") as handle:
        expected = json.load(handle)
    assert got == expected
    assert list(got) == list(expected)  # same field order as the contract


def test_api_serves_the_same_rows_as_the_cli(runner, client, examples_dir):
    ids = _import(runner, examples_dir, "pmcs-group-a.json")
    with open(os.path.join(examples_dir, "pmcs-group-a.standings.json"), encoding="utf-8") as handle:
        expected = json.load(handle)
    assert client.get(f"/api/tournaments/{ids['id']}/leaderboard/").get_json() == expected
    day = client.get("/api/tournaments/pmcs-group-a/leaderboard/?match_ids=" + str(ids["matches"]["erangel-1"]))
    assert [r["participant_id"] for r in day.get_json()][:2] == ["alpha", "bravo"]


def test_series_api_for_a_game_id(runner, client, examples_dir):
    ids = _import(runner, examples_dir, "val-campus-playoffs.json")
    body = client.get(f"/api/tournaments/val-campus-playoffs/series/{ids['matches']['sf2-2']}/").get_json()
    assert (body["status"], body["series_score"]) == ("in_progress", {"team-c": 0, "team-d": 1})


def test_complete_and_override_from_the_cli_and_api(runner, client, examples_dir, app, staff_user):
    _import(runner, examples_dir, "ff-weekly-cup.json")
    refused = runner.invoke(args=["tournaments", "complete", "ff-weekly-cup"])
    assert refused.exit_code == 1
    assert "m4 (live)" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    _import(runner, examples_dir, "pmcs-group-a.json")
    refused = runner.invoke(args=["tournaments", "complete", "pmcs-group-a"])
    assert refused.exit_code == 1 and "sanhok-1 (disputed)" in refused.stderr


def test_human_tables(runner, examples_dir):
    _import(runner, examples_dir, "ff-weekly-cup.json")
    table = runner.invoke(args=["tournaments", "standings", "ff-weekly-cup"])
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["#", "Team", "Pts"]
    assert "Dhaka Dragons" in lines[2] and "47" in lines[2]
    assert "total_kills" in lines[6]  # Booyah Bandits behind Red Rush on kills
    _import(runner, examples_dir, "val-campus-playoffs.json")
    series = runner.invoke(args=["tournaments", "series", "val-campus-playoffs", "sf1"])
    assert "team-a 2-1 team-b - completed, winner team-a" in series.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["tournaments", "standings", "nope"], "not found"),
        (["tournaments", "standings", "ff-weekly-cup", "--matches", "m1,zz"], "no match zz"),
        (["tournaments", "standings", "ff-weekly-cup", "--matches", ","], "--matches"),
        (["tournaments", "series", "ff-weekly-cup", "sf1"], "no series"),
        (["tournaments", "series", "nope", "sf1"], "not found"),
        (["tournaments", "complete", "nope"], "not found"),
    ],
)
def test_cli_bad_input_is_one_line_exit_1(runner, examples_dir, args, needle):
    _import(runner, examples_dir, "ff-weekly-cup.json")
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_standings_of_series_tournament_is_refused(runner, examples_dir):
    _import(runner, examples_dir, "val-campus-playoffs.json")
    result = runner.invoke(args=["tournaments", "standings", "val-campus-playoffs", "--json"])
    assert result.exit_code == 1 and "not battle royale" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["tournaments", "export", "\udcff"],
        ["tournaments", "standings", "ff-weekly-cup", "--stage", "\udcff"],
        ["tournaments", "series", "ff-weekly-cup", "\udcff"],
        ["users", "token", "\udcff@x.io"],
    ],
)
def test_undecodable_cli_arguments_exit_1(runner, examples_dir, args):
    _import(runner, examples_dir, "ff-weekly-cup.json")
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert "not valid UTF-8" in result.stderr
