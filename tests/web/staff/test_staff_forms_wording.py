"""Staff forms as a new organiser meets them: every error in one round, the slug made from the
name, messages that read as sentences, team names (not ids), labelled fields, no default team."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import Tournament
from app.services.standings.leaderboard import LeaderboardService as LS
from tests import factories as f
from tests.web.staff.test_staff_tournament import NEW, Staff, text


@pytest.fixture
def staff(client, auth, staff_user):
    auth.login()
    return Staff(client, auth.csrf_token())


def test_create_reports_every_problem_in_one_round(app, staff):
    with app.app_context():
        f.br_tournament("taken-cup")
        db.session.commit()
    bad = {**NEW, "name": "", "slug": "Bad Slug!", "advancing": "0", "stages": "Day 1\nday 1"}
    html = text(staff.post("/staff/tournaments/new", bad))
    assert "This field is required." in html  # the name
    assert "slug" in html and "Bad Slug!" in html
    errors = re.findall(r'<ul class="field__errors" id="([\w-]+)-errors">', html)
    assert {"name", "slug", "advancing", "stages"} <= set(errors), errors
    # A taken slug is reported together with the other problems too.
    html = text(staff.post("/staff/tournaments/new", {**NEW, "slug": "taken-cup", "advancing": "x"}))
    assert "already used by another tournament" in html and 'id="advancing-errors"' in html
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Tournament.id))) == 1


def test_slug_is_made_from_the_name_when_left_empty(app, staff):
    page = text(staff.get("/staff/tournaments/new"))
    assert 'data-slug-from="name"' in page and re.search(r'<input[^>]*id="slug"(?![^>]*required)[^>]*>', page)
    response = staff.post("/staff/tournaments/new", {**NEW, "name": "Dhaka Winter Cup 2026!", "slug": ""})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/tournaments/dhaka-winter-cup-2026/")


def test_status_flash_reads_as_a_sentence(app, staff):
    assert staff.post("/staff/tournaments/new", NEW).status_code == 302
    response = staff.post("/staff/tournaments/spring-cup/status", {"status": "registration"}, follow_redirects=True)
    assert "Spring Cup is now open for registration." in text(response)


def test_pasted_teams_duplicate_line_and_one_participants_id(app, staff):
    with app.app_context():
        f.br_tournament("reg-cup", status="registration", teams=())
        db.session.commit()
    response = staff.post("/staff/tournaments/reg-cup/participants/paste", {"participants": "Night Owls\nnight owls"})
    assert response.status_code == 400
    html = text(response)
    assert "line 2: name: &#39;night owls&#39; is listed twice (also on line 1)" in html
    assert "already registered" not in html
    assert html.count('id="participants"') == 1


def test_adjustment_team_picker_starts_empty_and_reasons_are_public(app, client, staff):
    with app.app_context():
        f.br_tournament("adj-cup", preset="ffws")
        db.session.commit()
    page = text(staff.get("/staff/tournaments/adj-cup/"))
    picker = re.search(r'<select[^>]*id="participant"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert re.match(r'\s*<option (selected )?value="">Choose a team</option>', picker)  # first: the default
    response = staff.post("/staff/tournaments/adj-cup/adjustments", {"participant": "", "points": "-3", "reason": "x"})
    assert response.status_code == 400 and "choose a team" in text(response)
    penalty = {"participant": "B", "points": "-3", "reason": "late check-in"}
    assert staff.post("/staff/tournaments/adj-cup/adjustments", penalty).status_code == 302
    public = client.get("/tournaments/adj-cup/").get_data(as_text=True)
    assert '<span class="team-name">Team B</span> <strong>−3</strong>: late check-in' in public


def test_override_preview_and_flash_name_the_team_and_reasons_are_labelled(app, staff, staff_user):
    with app.app_context():
        t = f.br_tournament("done-cup", preset="ffws")
        f.lobby(t, [("A", 1, 5), ("B", 2, 3), ("C", 3, 1), ("D", 4, 0)])
        db.session.commit()
        LS.complete_tournament("done-cup")
        LS.override_placement("done-cup", "D", 1, "Opponent used an unregistered player", staff_user)
    page = text(staff.get("/staff/tournaments/done-cup/results/"))
    assert ">Reason for the override</label>" in page and ">Reason for clearing it</label>" in page
    preview = text(
        staff.post(
            "/staff/tournaments/done-cup/results/override",
            {"participant": "C", "new_rank": "2", "reason": "Late check-in penalty by the referee"},
        )
    )
    assert "Preview: Team C from rank" in preview
