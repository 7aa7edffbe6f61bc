"""One definition of what a battle-royale tournament shows now (app.services.standings.shown): the page, its
live fragment, the widget, the overlay and both downloads agree, before and after completion."""

from __future__ import annotations

import csv
import io
import re

import pytest

from app.extensions import db
from app.services.standings import shown
from app.services.standings.leaderboard import LeaderboardService as LS
from app.services.tournaments.lookup import get_tournament
from tests import factories as f
from tests.web.public.test_public import HX, standings_rows

PINNED = ["Team C", "Team A", "Team B", "Team D", "Team E"]
REASON = "Team A fielded an unregistered player"


@pytest.fixture
def cup(app):
    """A, B, C, D played two lobbies (C climbs in the second, so something moved); E never played."""
    with app.app_context():
        t = f.br_tournament("shown-cup", preset="ffws", teams=("A", "B", "C", "D", "E"))
        f.lobby(t, [("A", 1, 5), ("B", 2, 3), ("C", 4, 0), ("D", 3, 1)])
        f.lobby(t, [("C", 1, 6), ("A", 3, 0), ("B", 2, 0), ("D", 4, 0)])
        db.session.commit()
    return "shown-cup"


def widget_names(html: str) -> list[str]:
    # A pinned row's name is followed by the override mark (an <abbr> holding the reason).
    return re.findall(r'<th scope="row">([^<]*?)(?: <abbr class="widget__override"[^>]*>\*</abbr>)?</th>', html)


def csv_names(client, url: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(client.get(url).get_data(as_text=True))))
    return [row[2] for row in rows[1:]]


def every_view(client, slug: str) -> dict[str, list[str]]:
    page = client.get(f"/tournaments/{slug}/").get_data(as_text=True)
    fragment = client.get(f"/tournaments/{slug}/", headers=HX).get_data(as_text=True)
    return {
        "page": standings_rows(page),
        "fragment": standings_rows(fragment),
        "widget": widget_names(client.get(f"/embed/{slug}").get_data(as_text=True)),
        "overlay": widget_names(client.get(f"/embed/{slug}?overlay=1").get_data(as_text=True)),
        "csv": csv_names(client, f"/tournaments/{slug}/standings.csv"),
        "json": [row["participant_name"] for row in client.get(f"/tournaments/{slug}/standings.json").get_json()],
    }


def test_running_tournament_every_view_lists_the_live_standings_and_teams_at_zero(app, client, cup):
    with app.app_context():
        engine = [row["participant_name"] for row in LS.calculate_br_standings(cup)]
    assert "Team E" not in engine  # the engine lists teams with a result only
    for view, names in every_view(client, cup).items():
        assert names == [*engine, "Team E"], view
    widget = client.get(f"/embed/{cup}").get_data(as_text=True)
    assert "move--up" in widget  # C climbed in the latest match


def test_after_an_override_every_view_shows_the_pinned_order_without_movement(app, client, cup, staff_user):
    with app.app_context():
        LS.complete_tournament(cup)
        LS.override_placement(cup, "C", 1, REASON, staff_user)
        api_order = [row["participant_name"] for row in LS.results(cup)]
    assert api_order == PINNED
    for view, names in every_view(client, cup).items():
        assert names == PINNED, view
    for url in (f"/embed/{cup}", f"/embed/{cup}?overlay=1", f"/tournaments/{cup}/"):
        html = client.get(url).get_data(as_text=True)
        assert "move--up" not in html and "move--down" not in html and "move--same" not in html, url
    csv_rows = list(csv.reader(io.StringIO(client.get(f"/tournaments/{cup}/standings.csv").get_data(as_text=True))))
    assert [row[0] for row in csv_rows[1:]] == ["1", "2", "3", "4", "5"]
    json_rows = client.get(f"/tournaments/{cup}/standings.json").get_json()
    assert json_rows[0]["is_override"] is True and json_rows[0]["override_reason"] == REASON
    assert json_rows[0]["decided_by"] is None
    assert [row["is_override"] for row in json_rows[1:]] == [False] * 4


def test_a_filter_on_a_completed_tournament_shows_those_matches_without_movement(app, client, cup, staff_user):
    with app.app_context():
        LS.complete_tournament(cup)
        LS.override_placement(cup, "C", 1, REASON, staff_user)
    html = client.get(f"/tournaments/{cup}/?matches=m1").get_data(as_text=True)
    assert standings_rows(html)[0] == "Team A"  # m1 alone: A won it; no pin applies to a filter
    assert "move--" not in html
    assert csv_names(client, f"/tournaments/{cup}/standings.csv?matches=m1")[0] == "Team A"


def test_service_rule_final_rows_keep_the_breakdown(app, cup, staff_user):
    with app.app_context():
        LS.complete_tournament(cup)
        LS.override_placement(cup, "C", 1, REASON, staff_user)
        tournament = get_tournament(cup)
        rows = shown.standings_now(tournament)
        engine = {row["participant_id"]: row for row in LS.calculate_br_standings(cup)}
        assert [row["participant_id"] for row in rows] == ["C", "A", "B", "D", "E"]
        assert all(row["final"] for row in rows)
        assert rows[0]["placement_points"] == engine["C"]["placement_points"]
        assert rows[0]["frozen_rank"] == engine["C"]["rank"]
        assert rows[-1]["total_points"] == 0 and rows[-1]["matches_played"] == 0
        assert not shown.shows_movement(tournament)
