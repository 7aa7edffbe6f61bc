"""Running a tournament from the staff portal, through HTTP as a browser would: create, import,
edit, register participants, move through the states, adjust points; and the whole day end to
end (lobbies through the form, completion, an override previewed then confirmed, cleared)."""

from __future__ import annotations

import io
import json
import os
import re

import pytest

from app.extensions import db
from app.models import AuditEvent, Match, Participant, PointAdjustment, Tournament, TournamentResult
from tests import factories as f


@pytest.fixture
def staff(client, auth, staff_user):
    auth.login()
    return Staff(client, auth.csrf_token())


class Staff:
    """A logged-in staff browser: posts carry the page's CSRF token like the forms do."""

    def __init__(self, client, token):
        self.client = client
        self.token = token

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def post(self, url, data=None, **kw):
        return self.client.post(url, data={"csrf_token": self.token, **(data or {})}, **kw)


def text(response) -> str:
    return response.get_data(as_text=True)


def tournament(app, slug="spring-cup") -> Tournament:
    with app.app_context():
        t = db.session.scalar(db.select(Tournament).filter_by(slug=slug))
        db.session.expunge_all()
        return t


def actions(app, tournament_id=None) -> list[str]:
    with app.app_context():
        query = db.select(AuditEvent.action).order_by(AuditEvent.id)
        if tournament_id is not None:
            query = query.where(AuditEvent.tournament_id == tournament_id)
        return list(db.session.scalars(query))


NEW = {"name": "Spring Cup", "slug": "spring-cup", "game": "freefire", "scoring_preset": "", "stages": "Day 1\nDay 2"}


# ------------------------------------------------------------------------------ the whole day


def test_a_whole_tournament_day_through_the_portal(app, client, staff):
    # Create: a draft with the game's default scoring.
    response = staff.post("/staff/tournaments/new", NEW)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/tournaments/spring-cup/")
    t = tournament(app)
    assert (t.status, t.scoring_preset, t.stages) == ("draft", "ffws", ["Day 1", "Day 2"])

    # Register: three pasted, one by hand.
    response = staff.post(
        "/staff/tournaments/spring-cup/participants/paste",
        {"participants": "name,key,tag\nTeam Alpha,alpha,ALF\nTeam Bravo,bravo\nTeam Charlie"},
    )
    assert response.status_code == 302
    assert (
        staff.post("/staff/tournaments/spring-cup/participants", {"name": "Team Delta", "tag": "DLT"}).status_code
        == 302
    )
    page = text(staff.get("/staff/tournaments/spring-cup/"))
    for name, key in [("Team Alpha", "alpha"), ("Team Bravo", "bravo"), ("Team Charlie", "team-charlie")]:
        assert name in page and f"<code>{key}</code>" in page
    assert "<code>team-delta</code>" in page

    # States: draft -> registration -> live.
    for step in ("registration", "live"):
        assert staff.post("/staff/tournaments/spring-cup/status", {"status": step}).status_code == 302
    assert tournament(app).status == "live"

    # A lobby through the grid: checked first (nothing stored), then saved.
    grid = text(staff.get("/staff/tournaments/spring-cup/lobbies/new"))
    keys = re.findall(r'name="rows-\d+-participant" value="([^"]+)"', grid)
    assert keys == ["alpha", "bravo", "team-charlie", "team-delta"]
    rows = {"alpha": (1, 8), "bravo": (2, 3), "team-charlie": (3, 0), "team-delta": (4, 1)}
    data = {"stage": "Day 1", "state": "completed"}
    for i, key in enumerate(keys):
        data |= {f"rows-{i}-participant": key, f"rows-{i}-placement": rows[key][0], f"rows-{i}-kills": rows[key][1]}
    check = staff.post("/staff/tournaments/spring-cup/lobbies/check", data, headers={"HX-Request": "true"})
    assert check.status_code == 200
    assert '<output id="check-0"' in text(check) and "20 pts" in text(check)  # 12 for 1st + 8 kills
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Match.id))) == 0
    response = staff.post("/staff/tournaments/spring-cup/lobbies/new", data)
    assert response.status_code == 302

    # The public standings show it at once.
    standings = client.get("/api/tournaments/spring-cup/leaderboard/").get_json()
    assert [(r["participant_id"], r["total_points"]) for r in standings] == [
        ("alpha", 20),
        ("bravo", 12),
        ("team-delta", 8),  # level with Charlie on points, ahead on kills (ffws tiebreakers)
        ("team-charlie", 8),
    ]

    # A penalty with its reason.
    response = staff.post(
        "/staff/tournaments/spring-cup/adjustments", {"participant": "bravo", "points": "-5", "reason": "Late to lobby"}
    )
    assert response.status_code == 302

    # Complete: the results page shows the frozen order with an override action on each row.
    # Completing cannot be undone: the button shows a confirm page first, which completes nothing.
    asked = staff.post("/staff/tournaments/spring-cup/status", {"status": "completed"})
    assert asked.status_code == 200 and "freeze its results?" in text(asked)
    assert tournament(app, "spring-cup").status == "live"
    response = staff.post("/staff/tournaments/spring-cup/status", {"status": "completed", "confirmed": "yes"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/results/")
    results = text(staff.get("/staff/tournaments/spring-cup/results/"))
    assert results.count("Preview</button>") == 4
    version = tournament(app).results_version

    # Override with a preview first: the page shows the order it would give, nothing changes.
    reason = "Team Alpha used an unregistered player"
    preview = staff.post(
        "/staff/tournaments/spring-cup/results/override",
        {"participant": "team-charlie", "new_rank": "1", "reason": reason},
    )
    assert preview.status_code == 200
    order = re.findall(r'<span class="rank">(\d+)</span> ([^<\n]+)', text(preview))
    assert [(int(r), n.strip()) for r, n in order] == [
        (1, "Team Charlie"),
        (2, "Team Alpha"),
        (3, "Team Delta"),
        (4, "Team Bravo"),
    ]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).where(TournamentResult.is_override)) == 0
    confirm = staff.post(
        "/staff/tournaments/spring-cup/results/override",
        {"participant": "team-charlie", "new_rank": "1", "reason": reason, "version": str(version), "confirm": "1"},
    )
    assert confirm.status_code == 302
    api = client.get("/api/tournaments/spring-cup/results/").get_json()
    assert [(r["participant_id"], r["rank"], r["is_override"]) for r in api] == [
        ("team-charlie", 1, True),
        ("alpha", 2, False),
        ("team-delta", 3, False),
        ("bravo", 4, False),
    ]

    # Clear it again.
    response = staff.post(
        "/staff/tournaments/spring-cup/results/clear",
        {"participant": "team-charlie", "reason": "Appeal upheld by admins"},
    )
    assert response.status_code == 302
    api = client.get("/api/tournaments/spring-cup/results/").get_json()
    assert [r["participant_id"] for r in api] == ["alpha", "team-delta", "team-charlie", "bravo"]
    assert not any(r["is_override"] for r in api)

    # Every change is in the audit log, with who did it.
    t = tournament(app)
    assert actions(app, t.id) == [
        "tournament.created",
        "participants.registered",
        "participant.registered",
        "tournament.status_changed",
        "tournament.status_changed",
        "match.recorded",
        "adjustment.added",
        "tournament.completed",
        "placement.override",
        "placement.override_cleared",
    ]
    with app.app_context():
        assert all(e.actor_id is not None for e in db.session.scalars(db.select(AuditEvent)))


# ------------------------------------------------------------------------------ create and edit


def test_create_refuses_bad_input_next_to_the_field_and_keeps_what_was_typed(app, staff):
    response = staff.post("/staff/tournaments/new", NEW | {"slug": "Spring Cup!"})
    assert response.status_code == 400
    page = text(response)
    assert re.search(r'id="slug-errors">\s*<li>[^<]*must be lowercase letters', page)
    assert 'value="Spring Cup!"' in page and 'value="Spring Cup"' in page
    assert actions(app) == []


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"slug": "2025"}, "slug", "needs a letter"),
        ({"name": ""}, "name", "This field is required"),
        ({"game": "chess"}, "game", "Not a valid choice"),
        (
            {"scoring_preset": "custom", "placement_points": "12, x", "kill_points": "1"},
            "placement_points",
            "not a whole number",
        ),
        ({"scoring_preset": "custom", "placement_points": "12, 9", "kill_points": ""}, "kill_points", "required"),
        (
            {"scoring_preset": "custom", "placement_points": "12,9", "kill_points": "1", "tiebreakers": "luck"},
            "tiebreakers",
            "unknown key",
        ),
        (
            {"scoring_preset": "custom", "placement_points": "1, " * 101 + "1", "kill_points": "1"},
            "placement_points",
            "at most 100",
        ),
        ({"advancing": "0"}, "advancing", "from 1 to 1000"),
        ({"advancing": "9" * 15}, "advancing", "far too large"),
        ({"advancing": "9" * 40}, "advancing", "longer than 20"),
        ({"name": "Cup\x00"}, "name", "NUL"),
        ({"stages": "Day 1\nday 1"}, "stages", "listed twice"),
    ],
)
def test_create_field_errors(app, staff, change, field, message):
    response = staff.post("/staff/tournaments/new", NEW | change)
    assert response.status_code == 400
    errors = re.search(rf'id="{field}-errors">(.*?)</ul>', text(response), re.S)
    assert errors and message in errors.group(1)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Tournament.id))) == 0


def test_create_custom_scoring_and_slug_taken(app, staff):
    custom = NEW | {
        "scoring_preset": "custom",
        "placement_points": "15, 10, 5",
        "kill_points": "2",
        "tiebreakers": "total_kills, best_placement",
        "advancing": "8",
    }
    assert staff.post("/staff/tournaments/new", custom).status_code == 302
    t = tournament(app)
    assert (t.placement_points, t.kill_points, t.tiebreakers, t.advancing) == (
        [15, 10, 5],
        2,
        ["total_kills", "best_placement"],
        8,
    )
    again = staff.post("/staff/tournaments/new", NEW | {"name": "Other"})
    assert again.status_code == 400 and "already used by another tournament" in text(again)


def test_edit_changes_scoring_until_completion_and_keeps_slug_fixed_once_live(app, staff):
    with app.app_context():
        t = f.br_tournament("live-cup", status="live")
        f.lobby(t, [("A", 1, 0), ("B", 2, 5)])
        db.session.commit()
    form = text(staff.get("/staff/tournaments/live-cup/edit"))
    assert 'value="live-cup"' in form
    base = {"name": "Live Cup", "slug": "live-cup", "game": "freefire", "scoring_preset": "pmgc"}
    assert staff.post("/staff/tournaments/live-cup/edit", base).status_code == 302
    assert tournament(app, "live-cup").scoring_preset == "pmgc"
    moved = staff.post("/staff/tournaments/live-cup/edit", base | {"slug": "new-address"})
    assert moved.status_code == 400 and "fixed once the tournament is live" in text(moved)
    game = staff.post("/staff/tournaments/live-cup/edit", base | {"game": "pubgm"})
    assert game.status_code == 400
    t = tournament(app, "live-cup")
    assert (t.slug, t.game) == ("live-cup", "freefire")
    assert actions(app, t.id) == ["tournament.updated"]


def test_unknown_tournament_is_404(staff):
    assert staff.get("/staff/tournaments/nope/").status_code == 404
    assert staff.post("/staff/tournaments/nope/participants", {"name": "X"}).status_code == 404


# ------------------------------------------------------------------------------ import


def test_import_upload_uses_the_file_rules_and_messages(app, staff, examples_dir):
    bad = {
        "format": "deltacrown.tournament/v1",
        "tournament": {"name": "X", "slug": "x-cup", "game": "freefire"},
        "participants": [{"id": "a", "name": "A"}],
        "matches": [
            {
                "key": "m1",
                "completed_at": "2025-01-01T00:00:00Z",
                "results": [{"participant": "a", "placement": 0, "kills": 1}],
            }
        ],
    }
    response = staff.post(
        "/staff/tournaments/import",
        {"file": (io.BytesIO(json.dumps(bad).encode()), "x.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "matches[0].results[0].placement: must be &gt;= 1" in text(response)
    not_json = staff.post(
        "/staff/tournaments/import", {"file": (io.BytesIO(b"\xff{"), "bad.json")}, content_type="multipart/form-data"
    )
    assert not_json.status_code == 400 and "bad.json: not UTF-8 text" in text(not_json)
    missing = staff.post("/staff/tournaments/import", {}, content_type="multipart/form-data")
    assert missing.status_code == 400 and "choose a tournament file" in text(missing)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Tournament.id))) == 0

    path = os.path.join(examples_dir, "ff-weekly-cup.json")
    with open(path, "rb") as handle:
        response = staff.post(
            "/staff/tournaments/import", {"file": (handle, "ff-weekly-cup.json")}, content_type="multipart/form-data"
        )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/tournaments/ff-weekly-cup/")
    t = tournament(app, "ff-weekly-cup")
    assert actions(app, t.id) == ["tournament.imported"]


# ------------------------------------------------------------------------------ participants


def test_register_one_refuses_duplicates_with_the_form_kept(app, staff):
    with app.app_context():
        f.br_tournament("reg-cup", status="registration")
        db.session.commit()
    response = staff.post("/staff/tournaments/reg-cup/participants", {"name": "team a", "tag": "TA"})
    assert response.status_code == 400
    assert re.search(r'id="name-errors">\s*<li>[^<]*already registered', text(response))
    assert 'value="TA"' in text(response)
    bad_key = staff.post("/staff/tournaments/reg-cup/participants", {"name": "Zeta", "key": "has space"})
    assert bad_key.status_code == 400 and 'id="key-errors"' in text(bad_key)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Participant.id))) == 4


def test_pasted_participants_are_all_or_nothing(app, staff):
    with app.app_context():
        f.br_tournament("reg-cup", status="registration", teams=())
        db.session.commit()
    response = staff.post(
        "/staff/tournaments/reg-cup/participants/paste", {"participants": "One\nTwo,two\nThree,two\nFour"}
    )
    assert response.status_code == 400
    assert "line 3: key: &#39;two&#39; is listed twice (also on line 2)" in text(response)
    assert "One\nTwo,two\nThree,two\nFour" in text(response)  # the textarea keeps the paste
    too_wide = staff.post("/staff/tournaments/reg-cup/participants/paste", {"participants": "a,b,c,d"})
    assert too_wide.status_code == 400 and "at most 3 values" in text(too_wide)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Participant.id))) == 0
    assert actions(app) == []


def test_no_registration_after_completion(app, staff):
    with app.app_context():
        f.br_tournament("done-cup", status="completed")
        db.session.commit()
    response = staff.post("/staff/tournaments/done-cup/participants", {"name": "Late Team"})
    assert response.status_code == 409 and "is completed" in text(response)


# ------------------------------------------------------------------------------ states and adjustments


def test_state_steps_are_one_at_a_time_and_completion_waits_for_open_matches(app, staff):
    with app.app_context():
        tid = f.br_tournament("step-cup", status="draft").id
        db.session.commit()
    skip = staff.post("/staff/tournaments/step-cup/status", {"status": "live"})
    assert skip.status_code == 409 and "cannot move to live" in text(skip)
    early = staff.post("/staff/tournaments/step-cup/status", {"status": "completed", "confirmed": "yes"})
    assert early.status_code == 409
    with app.app_context():
        t = db.session.get(Tournament, tid)
        t.status = "live"
        f.lobby(t, [("A", 1, 1)], state="disputed")
        db.session.commit()
    blocked = staff.post("/staff/tournaments/step-cup/status", {"status": "completed", "confirmed": "yes"})
    assert blocked.status_code == 409 and "live or disputed" in text(blocked)
    assert tournament(app, "step-cup").status == "live"
    no_csrf = staff.client.post("/staff/tournaments/step-cup/status", data={"status": "completed", "confirmed": "yes"})
    assert no_csrf.status_code == 400


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"participant": "A", "points": "0", "reason": "Nothing"}, "points", "must not be 0"),
        ({"participant": "A", "points": "ten", "reason": "Late"}, "points", "whole number"),
        ({"participant": "A", "points": "99999", "reason": "Late"}, "points", "from -10000 to 10000"),
        ({"participant": "A", "points": "-3", "reason": ""}, "reason", "required"),
        ({"participant": "ZZ", "points": "-3", "reason": "Late"}, "participant", "no participant"),
    ],
)
def test_adjustment_errors(app, staff, data, field, message):
    with app.app_context():
        f.br_tournament("adj-cup")
        db.session.commit()
    response = staff.post("/staff/tournaments/adj-cup/adjustments", data)
    assert response.status_code == 400
    errors = re.search(rf'id="{field}-errors">(.*?)</ul>', text(response), re.S)
    assert errors and message in errors.group(1)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(PointAdjustment.id))) == 0


def test_staff_pages_are_closed_to_players_and_anonymous(app, client, auth, player_user):
    with app.app_context():
        f.br_tournament("closed-cup")
        db.session.commit()
    assert client.get("/staff/tournaments/closed-cup/").status_code == 302
    auth.login("player@example.com", "player password 123")
    assert client.get("/staff/tournaments/closed-cup/lobbies/new").status_code == 403


def test_tournament_pages_link_their_audit_log(app, staff):
    with app.app_context():
        f.br_tournament("log-cup")
        db.session.commit()
    assert staff.post("/staff/tournaments/log-cup/participants", {"name": "Team Echo"}).status_code == 302
    page = text(staff.get("/staff/tournaments/log-cup/"))
    assert 'href="/staff/audit?tournament=log-cup"' in page
    log = text(staff.get("/staff/audit?tournament=log-cup"))
    assert "participant.registered" in log


def test_join_code_from_the_portal_is_shown_once_and_lets_a_player_join(app, client, staff):
    with app.app_context():
        f.br_tournament("code-cup")
        db.session.commit()
    page = text(staff.post("/staff/tournaments/code-cup/participants/A/join-code"))
    code = re.search(r'<output class="join-code"[^>]*><code>([A-Z0-9-]+)</code>', page).group(1)
    assert "participant.join_code_issued" in actions(app)
    with app.app_context():
        logged = [(e.before, e.after, e.reason) for e in db.session.scalars(db.select(AuditEvent))]
    assert code not in json.dumps(logged) and code.replace("-", "") not in json.dumps(logged)
    assert code not in text(staff.get("/staff/tournaments/code-cup/"))  # shown on that response only
    assert staff.post("/staff/tournaments/code-cup/participants/nobody/join-code").status_code == 404
    assert client.post("/staff/tournaments/code-cup/participants/A/join-code").status_code == 400  # no CSRF token

    # The code works for a player; a second code for the team makes the first one stop working.
    from app.services.accounts.players import join_team, sign_up

    with app.app_context():
        first = sign_up("first@example.com", "first password 1")
        assert join_team(first, code).registration.participant.key == "A"
    newer = re.search(
        r'<output class="join-code"[^>]*><code>([A-Z0-9-]+)</code>',
        text(staff.post("/staff/tournaments/code-cup/participants/A/join-code")),
    ).group(1)
    assert newer != code
    with app.app_context():
        second = sign_up("second@example.com", "second password 1")
        with pytest.raises(Exception, match="(?i)code"):
            join_team(second, code)
        assert join_team(second, newer).registration.participant.key == "A"
