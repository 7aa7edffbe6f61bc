"""Final results in the staff portal: every row has an override action whose resulting order is
previewed before it is confirmed, a clear action, and two staff overriding at once never
corrupt the ranks (the later confirmation is told the results changed)."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import AuditEvent, Tournament, TournamentResult
from app.services.standings.leaderboard import LeaderboardService
from tests import factories as f
from tests.conftest import STAFF_PASSWORD, AuthActions, create_user
from tests.web.staff.test_staff_tournament import Staff, text

URL = "/staff/tournaments/final-cup/results"
REASON = "Opponent fielded an unregistered player"


@pytest.fixture
def final(app):
    with app.app_context():
        t = f.br_tournament("final-cup", teams=("A", "B", "C", "D"))
        f.lobby(t, [("A", 1, 4), ("B", 2, 3), ("C", 3, 2), ("D", 4, 1)])
        db.session.commit()
        LeaderboardService.complete_tournament(t.id)
        return t.id


@pytest.fixture
def staff(client, auth, staff_user, final):
    auth.login()
    return Staff(client, auth.csrf_token())


def ranks(app, tid):
    with app.app_context():
        rows = LeaderboardService.results(tid)
        return [(r["participant_id"], r["rank"], r["is_override"]) for r in rows]


def preview_order(html: str) -> list[tuple[int, str]]:
    return [(int(r), n.strip()) for r, n in re.findall(r'<span class="rank">(\d+)</span> ([^<\n]+)', html)]


def version(app, tid) -> str:
    with app.app_context():
        return str(db.session.get(Tournament, tid).results_version)


def test_results_page_lists_rows_with_override_actions(staff):
    html = text(staff.get(URL + "/"))
    assert [m for m in re.findall(r'id="result-(\w)"', html)] == ["A", "B", "C", "D"]
    assert html.count('name="new_rank"') == 4 and html.count("Preview</button>") == 4


def test_preview_then_confirm(app, staff, final):
    preview = staff.post(URL + "/override", {"participant": "C", "new_rank": "1", "reason": REASON})
    assert preview.status_code == 200
    html = text(preview)
    assert preview_order(html) == [(1, "Team C"), (2, "Team A"), (3, "Team B"), (4, "Team D")]
    assert "Confirm override" in html
    assert ranks(app, final) == [("A", 1, False), ("B", 2, False), ("C", 3, False), ("D", 4, False)]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).filter_by(action="placement.override")) == 0
    confirm_version = re.search(r'name="version" type="hidden" value="(\d+)"', html).group(1)
    confirm = staff.post(
        URL + "/override",
        {"participant": "C", "new_rank": "1", "reason": REASON, "version": confirm_version, "confirm": "1"},
    )
    assert confirm.status_code == 302
    assert ranks(app, final) == [("C", 1, True), ("A", 2, False), ("B", 3, False), ("D", 4, False)]
    page = text(staff.get(URL + "/"))
    assert REASON in page and "Clear override" in page


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"participant": "C", "new_rank": "9", "reason": REASON}, "new_rank", "between 1 and 4"),
        ({"participant": "C", "new_rank": "x", "reason": REASON}, "new_rank", "whole number"),
        ({"participant": "C", "new_rank": "1", "reason": "too short"}, "reason", "at least 10 characters"),
        ({"participant": "C", "new_rank": "1", "reason": "ten chars\x00!"}, "reason", "NUL"),
        ({"participant": "C", "new_rank": "1", "reason": "x" * 501}, "reason", "longer than 500"),
    ],
)
def test_override_errors_next_to_the_field(app, staff, final, data, field, message):
    response = staff.post(URL + "/override", data)
    assert response.status_code == 400
    errors = re.search(rf'id="{field}-C-errors">(.*?)</ul>', text(response), re.S)
    assert errors and message in errors.group(1)
    assert ranks(app, final)[2] == ("C", 3, False)


def test_unknown_participant_and_not_completed(app, staff, final):
    unknown = staff.post(URL + "/override", {"participant": "ZZ", "new_rank": "1", "reason": REASON})
    assert unknown.status_code == 404 and "no participant" in text(unknown)
    with app.app_context():
        f.br_tournament("live-cup")
        db.session.commit()
    live = staff.post(
        "/staff/tournaments/live-cup/results/override", {"participant": "A", "new_rank": "1", "reason": REASON}
    )
    assert live.status_code == 409 and "placements can be overridden after completion" in text(live)
    page = text(staff.get("/staff/tournaments/live-cup/results/"))
    assert "Final results exist once the tournament is completed" in page


def test_two_staff_confirming_overrides_the_later_is_shown_the_new_order(app, client, staff, final):
    create_user(app, "second@example.com", STAFF_PASSWORD, staff=True)
    other_client = app.test_client()
    other_auth = AuthActions(other_client)
    other_auth.login("second@example.com", STAFF_PASSWORD)
    other = Staff(other_client, other_auth.csrf_token())
    v = version(app, final)

    first = staff.post(
        URL + "/override", {"participant": "D", "new_rank": "1", "reason": REASON, "version": v, "confirm": "1"}
    )
    assert first.status_code == 302
    second = other.post(
        URL + "/override",
        {"participant": "C", "new_rank": "1", "reason": "Other admin's decision", "version": v, "confirm": "1"},
    )
    assert second.status_code == 409
    html = text(second)
    assert "the final results changed since you looked at them" in html
    # The preview is recomputed on the current results: C would replace D's pin at rank 1.
    assert preview_order(html) == [(1, "Team C"), (2, "Team A"), (3, "Team B"), (4, "Team D")]
    assert ranks(app, final) == [("D", 1, True), ("A", 2, False), ("B", 3, False), ("C", 4, False)]
    with app.app_context():
        pinned = db.session.scalars(db.select(TournamentResult.rank).where(TournamentResult.is_override)).all()
        assert pinned == [1]
    # Confirming the fresh preview applies it.
    fresh = re.search(r'name="version" type="hidden" value="(\d+)"', html).group(1)
    third = other.post(
        URL + "/override",
        {"participant": "C", "new_rank": "1", "reason": "Other admin's decision", "version": fresh, "confirm": "1"},
    )
    assert third.status_code == 302
    assert ranks(app, final) == [("C", 1, True), ("A", 2, False), ("B", 3, False), ("D", 4, False)]


def test_clear_override(app, staff, staff_user, final):
    with app.app_context():
        LeaderboardService.override_placement(final, "D", 1, REASON, staff_user)
    short = staff.post(URL + "/clear", {"participant": "D", "reason": "short"})
    assert short.status_code == 400 and "at least 10 characters" in text(short)
    not_pinned = staff.post(URL + "/clear", {"participant": "A", "reason": "Appeal upheld today"})
    assert not_pinned.status_code == 409 and "has no override" in text(not_pinned)
    response = staff.post(URL + "/clear", {"participant": "D", "reason": "Appeal upheld today"})
    assert response.status_code == 302
    assert ranks(app, final) == [("A", 1, False), ("B", 2, False), ("C", 3, False), ("D", 4, False)]
    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent).filter_by(action="placement.override_cleared"))
        assert event.before["rank"] == 1 and event.after["rank"] == 4 and event.reason == "Appeal upheld today"
