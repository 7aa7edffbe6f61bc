"""Battle-royale lobby entry in the staff portal: the grid and its live check, pasting, saving
through the API's service, corrections with the optimistic version check (two staff at once),
and match states."""

from __future__ import annotations

import json
import re

import pytest

from app.extensions import db
from app.models import AuditEvent, Match, MatchResult
from tests import factories as f
from tests.conftest import STAFF_PASSWORD, create_user
from tests.web.staff.test_staff_tournament import Staff, text

URL = "/staff/tournaments/ff-cup"


@pytest.fixture
def cup(app):
    with app.app_context():
        t = f.br_tournament("ff-cup", preset="ffws", teams=("A", "B", "C", "D"))
        db.session.commit()
        return t.id


@pytest.fixture
def staff(client, auth, staff_user, cup):
    auth.login()
    return Staff(client, auth.csrf_token())


def grid(rows: dict[str, tuple[str, str]], keys=("A", "B", "C", "D"), **extra) -> dict[str, str]:
    data = {"stage": "Day 1", "state": "completed", **extra}
    for i, key in enumerate(keys):
        placement, kills = rows.get(key, ("", ""))
        data |= {f"rows-{i}-participant": key, f"rows-{i}-placement": placement, f"rows-{i}-kills": kills}
    return data


def outputs(html: str) -> dict[str, str]:
    return {
        i: re.sub(r"\s+", " ", body).strip()
        for i, body in re.findall(r'<output id="check-(\d+)"[^>]*>(.*?)</output>', html, re.S)
    }


def stored(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(MatchResult.id)))


def test_grid_has_a_row_per_team_keyboard_ready(staff):
    page = text(staff.get(f"{URL}/lobbies/new"))
    assert re.findall(r'name="rows-\d+-participant" value="(\w)"', page) == ["A", "B", "C", "D"]
    assert re.search(r'id="rows-0-placement"[^>]*autofocus', page)
    # One form with a submit button: Enter in any box saves; htmx checks while typing.
    form = re.search(r'<form id="lobby-form"[^>]*>', page).group(0)
    assert 'hx-post="/staff/tournaments/ff-cup/lobbies/check"' in form and 'hx-trigger="input' in form
    assert 'hx-target="#lobby-check"' in form
    assert page.count('type="submit"') >= 2


def test_live_check_gives_points_and_every_problem_without_storing(app, staff):
    data = grid({"A": ("1", "8"), "B": ("1", "2"), "C": ("3", "-1"), "D": ("x", "")})
    response = staff.post(f"{URL}/lobbies/check", data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = text(response)
    assert "<html" not in html and html.lstrip().startswith('<div id="lobby-check"')  # the fragment only
    assert "HX-Request" in response.headers["Vary"]
    checks = outputs(html)
    assert checks["0"] == "placement 1 is also given to Team B"
    assert checks["1"] == "placement 1 is also given to Team A"
    assert checks["2"] == "kills: cannot be negative"
    assert checks["3"] == "placement: a whole number, not &#39;x&#39;"
    assert "4 problems" in html
    assert 'hx-swap-oob="true"' in html
    assert stored(app) == 0

    fine = staff.post(f"{URL}/lobbies/check", grid({"A": ("1", "8"), "B": ("2", "")}), headers={"HX-Request": "true"})
    checks = outputs(text(fine))
    assert (checks["0"], checks["1"], checks["2"]) == ("20 pts", "9 pts", "")
    assert "29 points in all: ready to save" in text(fine)


def test_check_without_javascript_renders_the_whole_page(staff):
    response = staff.post(f"{URL}/lobbies/check", grid({"A": ("1", "3")}))
    assert response.status_code == 200
    assert "<html" in text(response) and "15 pts" in text(response)


def test_save_goes_through_the_api_service_and_counts_at_once(app, client, staff):
    response = staff.post(f"{URL}/lobbies/new", grid({"A": ("2", "3"), "B": ("1", "0"), "C": ("3", "")}))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/lobbies/new?stage=Day+1")
    assert 'name="stage" type="text" value="Day 1"' in text(staff.get(response.headers["Location"]))
    with app.app_context():
        match = db.session.scalar(db.select(Match))
        assert (match.key, match.stage, match.state, match.completed_at is not None) == (
            "m1",
            "Day 1",
            "completed",
            True,
        )
        event = db.session.scalar(db.select(AuditEvent).filter_by(action="match.recorded"))
        assert event.after == {"key": "m1", "state": "completed", "results": 3}
    rows = client.get("/api/tournaments/ff-cup/leaderboard/").get_json()
    assert [(r["participant_id"], r["total_points"]) for r in rows] == [("B", 12), ("A", 12), ("C", 8)]


@pytest.mark.parametrize(
    "rows, problem",
    [
        ({"A": ("1", "1"), "B": ("1", "0")}, "placement 1 is also given to Team A"),
        ({"A": ("1", "-3")}, "kills: cannot be negative"),
        ({"A": ("0", "1")}, "placement: at least 1"),
        ({"A": ("1", "9" * 40)}, "kills: at most 1000"),
        ({"A": ("", "4")}, "placement: required when kills are entered"),
        ({"A": ("1.5", "4")}, "placement: a whole number"),
        ({"A": ("١", "4")}, "placement: a whole number"),  # Arabic-Indic digit: not ASCII
        ({}, "enter at least one team"),
    ],
)
def test_save_refuses_bad_rows_with_the_grid_kept(app, staff, rows, problem):
    response = staff.post(f"{URL}/lobbies/new", grid(rows))
    assert response.status_code == 400
    html = text(response)
    assert problem.replace("'", "&#39;") in html
    for placement, _kills in rows.values():
        if placement:
            assert f'value="{placement}"' in html  # what was typed stays
    assert stored(app) == 0


def test_unknown_team_and_twice_listed_team_in_posted_rows(app, staff):
    data = grid({"A": ("1", "0"), "B": ("2", "0")}, keys=("A", "B", "ZZ", "A"))
    data |= {"rows-2-placement": "3", "rows-3-placement": "4"}
    response = staff.post(f"{URL}/lobbies/new", data)
    assert response.status_code == 400
    checks = outputs(text(response))
    assert "unknown team &#39;ZZ&#39;" in checks["2"]
    assert "Team A is entered twice" in checks["3"]
    assert stored(app) == 0


def test_nul_and_oversized_stage_are_refused(app, staff):
    nul = staff.post(f"{URL}/lobbies/new", grid({"A": ("1", "0")}, stage="Day\x001"))
    assert nul.status_code == 400 and "NUL" in text(nul)
    long = staff.post(f"{URL}/lobbies/new", grid({"A": ("1", "0")}, stage="x" * 81))
    assert long.status_code == 400
    assert stored(app) == 0


def test_missing_fields_and_no_csrf_are_4xx(app, client, staff):
    assert staff.post(f"{URL}/lobbies/new", {}).status_code == 400
    assert client.post(f"{URL}/lobbies/new", data=grid({"A": ("1", "0")})).status_code == 400
    assert stored(app) == 0


def test_paste_csv_fills_the_grid_without_saving(app, staff):
    paste = "team,placement,kills\nTeam C,1,7\nb,2,\nA,3,1\n"
    response = staff.post(f"{URL}/lobbies/paste", {"paste": paste})
    assert response.status_code == 200
    html = text(response)
    # The grid keeps the teams' own order (issue 26): a pasted lobby fills it, never reorders it.
    assert re.findall(r'name="rows-\d+-participant" value="(\w)"', html) == ["A", "B", "C", "D"]
    assert re.findall(r'name="rows-\d+-placement" value="([^"]*)"', html) == ["3", "2", "1", ""]
    assert outputs(html)["2"] == "19 pts"
    assert stored(app) == 0


def test_paste_json_lobby(app, staff):
    lobby = {"stage": "Day 2", "results": [{"participant": "D", "placement": 1, "kills": 2}]}
    response = staff.post(f"{URL}/lobbies/paste", {"paste": json.dumps(lobby)})
    assert response.status_code == 200
    assert 'value="Day 2"' in text(response) and outputs(text(response))["3"] == "14 pts"


@pytest.mark.parametrize(
    "paste, message",
    [
        ("Nobody,1,2", "line 1: unknown team &#34;Nobody&#34;"),
        ("A,1,2\nA,2,0", "line 2: A is listed twice"),
        ("A,1", None),
        ("A;1;2", "expected team,placement,kills"),
        ('{"results": [1]}', "results[0]: must be an object"),
        ('{"results": ', "invalid JSON"),
        ("[" * 5000, "nested too deeply"),
    ],
)
def test_paste_errors(app, staff, paste, message):
    response = staff.post(f"{URL}/lobbies/paste", {"paste": paste})
    if message is None:
        assert response.status_code == 200  # kills may be left out
        return
    assert response.status_code == 400
    errors = re.search(r'id="paste-errors">(.*?)</ul>', text(response), re.S)
    assert errors and message in errors.group(1)
    assert stored(app) == 0


# ------------------------------------------------------------------------------ corrections


@pytest.fixture
def saved(app, cup):
    with app.app_context():
        from app.models import Tournament

        t = db.session.get(Tournament, cup)
        match = f.lobby(t, [("A", 1, 5), ("B", 2, 3), ("C", 3, 0)], stage="Day 1")
        db.session.commit()
        return match.id


def edit_data(page: str, rows: dict[str, tuple[str, str]]) -> dict[str, str]:
    keys = re.findall(r'name="rows-\d+-participant" value="(\w)"', page)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    data = grid(rows, keys=keys, version=version)
    data.pop("state")
    return data


def test_edit_shows_the_saved_lobby_and_corrects_it(app, client, staff, saved):
    page = text(staff.get(f"{URL}/lobbies/{saved}/edit"))
    assert re.findall(r'name="rows-\d+-placement" value="([^"]*)"', page) == ["1", "2", "3", ""]
    response = staff.post(
        f"{URL}/lobbies/{saved}/edit", edit_data(page, {"A": ("2", "5"), "B": ("1", "3"), "C": ("3", "0")})
    )
    assert response.status_code == 302
    rows = client.get("/api/tournaments/ff-cup/leaderboard/").get_json()
    assert [(r["participant_id"], r["total_points"]) for r in rows] == [("B", 15), ("A", 14), ("C", 8)]
    with app.app_context():
        match = db.session.get(Match, saved)
        assert match.version == 1
        event = db.session.scalar(db.select(AuditEvent).filter_by(action="match.results_corrected"))
        assert event.before["results"] == {"A": [1, 5], "B": [2, 3], "C": [3, 0]}
        assert event.after["results"] == {"B": [1, 3], "A": [2, 5], "C": [3, 0]}


def test_two_staff_correcting_one_lobby_the_later_save_is_told(app, client, auth, staff, saved):
    # Two staff open the same lobby.
    create_user(app, "second@example.com", STAFF_PASSWORD, staff=True)
    other_client = app.test_client()
    other_page = other_client.get("/login")
    from tests.conftest import AuthActions

    other_auth = AuthActions(other_client)
    other_auth.login("second@example.com", STAFF_PASSWORD)
    other = Staff(other_client, other_auth.csrf_token())
    first_page = text(staff.get(f"{URL}/lobbies/{saved}/edit"))
    second_page = text(other.get(f"{URL}/lobbies/{saved}/edit"))
    assert other_page.status_code == 200

    first = staff.post(
        f"{URL}/lobbies/{saved}/edit", edit_data(first_page, {"A": ("1", "9"), "B": ("2", "3"), "C": ("3", "0")})
    )
    assert first.status_code == 302
    second = other.post(
        f"{URL}/lobbies/{saved}/edit", edit_data(second_page, {"A": ("3", "5"), "B": ("2", "3"), "C": ("1", "0")})
    )
    assert second.status_code == 409
    html = text(second)
    assert "changed by someone else" in html and "your entry was not saved" in html
    # The second person now sees the first person's saved state, with the new version...
    assert re.findall(r'name="rows-\d+-kills" value="([^"]*)"', html)[:3] == ["9", "3", "0"]
    assert 'name="version" type="hidden" value="1"' in html
    # ...and what they typed, listed so it is not lost.
    assert "Team A: placement 3, kills 5" in html
    with app.app_context():
        placements = dict(
            db.session.execute(db.select(MatchResult.participant_id, MatchResult.kills).filter_by(match_id=saved)).all()
        )
        assert sorted(placements.values()) == [0, 3, 9]
        assert db.session.scalar(db.select(db.func.count()).where(AuditEvent.action == "match.results_corrected")) == 1
    # Saving again from the fresh page works.
    again = other.post(
        f"{URL}/lobbies/{saved}/edit", edit_data(html, {"A": ("3", "5"), "B": ("2", "3"), "C": ("1", "0")})
    )
    assert again.status_code == 302


def test_a_state_change_after_opening_the_editor_refuses_the_correction(app, staff, saved):
    page = text(staff.get(f"{URL}/lobbies/{saved}/edit"))
    disputed = staff.post(f"{URL}/matches/{saved}/state", {"state": "disputed", "reason": "Team C contests kills"})
    assert disputed.status_code == 302
    response = staff.post(f"{URL}/lobbies/{saved}/edit", edit_data(page, {"A": ("1", "0")}))
    assert response.status_code == 409 and "Disputed" in text(response)
    with app.app_context():
        assert db.session.get(Match, saved).state == "disputed"
        assert len(db.session.scalars(db.select(MatchResult).filter_by(match_id=saved)).all()) == 3


def test_edit_refuses_a_missing_version_and_frozen_results(app, staff, saved):
    page = text(staff.get(f"{URL}/lobbies/{saved}/edit"))
    data = edit_data(page, {"A": ("1", "1")})
    data.pop("version")
    response = staff.post(f"{URL}/lobbies/{saved}/edit", data)
    assert response.status_code == 400 and "reload the lobby" in text(response)
    with app.app_context():
        from app.services.standings.leaderboard import LeaderboardService

        LeaderboardService.complete_tournament("ff-cup")
    frozen = staff.post(f"{URL}/lobbies/{saved}/edit", edit_data(page, {"A": ("1", "1")}))
    assert frozen.status_code == 409 and "results are frozen" in text(frozen)
    assert staff.get(f"{URL}/lobbies/99999/edit").status_code == 404


# ------------------------------------------------------------------------------ match states


def test_match_states_start_complete_dispute_resolve_cancel(app, staff, cup):
    with app.app_context():
        from app.models import Tournament

        t = db.session.get(Tournament, cup)
        live = f.lobby(t, [("A", 1, 1), ("B", 2, 0)], state="scheduled").id
        other = f.lobby(t, [], state="scheduled").id
        db.session.commit()

    def move(match_id, state, reason=""):
        return staff.post(f"{URL}/matches/{match_id}/state", {"state": state, "reason": reason})

    assert move(live, "live").status_code == 302
    assert move(live, "completed").status_code == 302
    no_reason = move(live, "disputed")
    assert no_reason.status_code == 400 and "a dispute needs a reason" in text(no_reason)
    assert move(live, "disputed", "Team B reports a teleport hack").status_code == 302
    assert move(live, "completed").status_code == 302  # resolved
    # Nothing leaves cancelled, so the button asks first: a confirm page that carries the reason.
    confirm = move(other, "cancelled", "Server crash <b>")
    assert confirm.status_code == 200
    page = text(confirm)
    assert "Cancel " in page and "for good" in page and "Keep " in page and "Server crash &lt;b&gt;" in page
    assert 'name="confirmed" value="yes"' in page and 'name="state" value="cancelled"' in page
    with app.app_context():
        from app.models import Match

        assert db.session.get(Match, other).state == "scheduled"
    done = staff.post(
        f"{URL}/matches/{other}/state", {"state": "cancelled", "reason": "Server crash", "confirmed": "yes"}
    )
    assert done.status_code == 302
    assert staff.post(f"{URL}/matches/424242/state", {"state": "cancelled"}).status_code == 404
    refused = move(other, "live")
    assert refused.status_code == 409 and "cannot move to live" in text(refused)
    # A refused dispute keeps the reason typed, next to the button that was pressed.
    too_long = "Kept reason " + "x" * 500
    kept = move(live, "disputed", too_long)
    assert kept.status_code == 400 and "reason: Field cannot be longer than 500 characters" in text(kept)
    assert re.search(rf'value="{too_long}" aria-invalid="true"', text(kept))
    assert move(other, "exploded").status_code == 400
    assert staff.post(f"{URL}/matches/424242/state", {"state": "live"}).status_code == 404
    with app.app_context():
        events = list(db.session.scalars(db.select(AuditEvent).filter_by(action="match.state_changed")))
        assert [e.after["state"] for e in events] == ["live", "completed", "disputed", "completed", "cancelled"]
        assert events[2].reason == "Team B reports a teleport hack"
    page = text(staff.get(f"{URL}/lobbies/"))
    assert "Edit results" in page


def test_fill_the_grid_keeps_the_stage_and_state_typed_in_the_grid(app, staff):
    # "Fill the grid" submits the grid's own form (form="lobby-form"), so its stage comes along.
    page = text(staff.get(f"{URL}/lobbies/new"))
    assert re.search(r'<textarea[^>]*form="lobby-form"', page)
    assert re.search(r'<button[^>]*form="lobby-form"[^>]*formaction="/staff/tournaments/ff-cup/lobbies/paste"', page)
    fields = {**grid({}), "stage": "Day 3", "state": "live", "paste": "Team C,1,7\nB,2,0\n"}
    html = text(staff.post(f"{URL}/lobbies/paste", fields))
    assert 'name="stage" type="text" value="Day 3"' in html
    assert re.search(r'<option selected value="live">|<option value="live" selected>', html)
    assert re.findall(r'name="rows-\d+-placement" value="([^"]*)"', html) == ["", "2", "1", ""]
    # A stage written in a pasted JSON lobby still wins over the grid's.
    lobby = {"stage": "Day 4", "results": [{"participant": "D", "placement": 1, "kills": 2}]}
    html = text(staff.post(f"{URL}/lobbies/paste", {**fields, "paste": json.dumps(lobby)}))
    assert 'name="stage" type="text" value="Day 4"' in html


def test_a_lobby_saved_completed_tells_each_player_how_their_team_placed_once(app, staff):
    from app.models import Notification, Participant, Registration
    from app.notifications.models import OutboxEvent

    player_id = create_user(app, "c-player@example.com", STAFF_PASSWORD)
    with app.app_context():
        team = db.session.scalar(db.select(Participant).filter_by(key="C"))
        db.session.add(Registration(tournament_id=team.tournament_id, participant_id=team.id, user_id=player_id))
        db.session.commit()
    rows = {"A": ("1", "2"), "B": ("2", "0"), "C": ("3", "9"), "D": ("4", "0")}
    assert staff.post(f"{URL}/lobbies/new", grid(rows)).status_code == 302
    with app.app_context():
        events = db.session.scalars(db.select(OutboxEvent.type).order_by(OutboxEvent.id)).all()
        assert events.count("match.completed") == 1
        notes = db.session.scalars(db.select(Notification).filter_by(user_id=player_id)).all()
        assert len(notes) == 1
        # ffws: 3rd place = 8 placement points, 9 kills = 9 points.
        assert notes[0].title == "Finished 3rd in Match m1 (Day 1): 9 kills, 17 pts"
        assert "Team C finished 3rd: 9 kills, 17 pts." in notes[0].body
