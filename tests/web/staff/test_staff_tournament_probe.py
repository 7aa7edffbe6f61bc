"""Every "running a tournament" form, probed as an outsider would: missing fields, NUL, huge
numbers, undecodable bytes, wrong shapes. Each answer is a page with a 2xx/3xx/4xx, never a 500,
and a refused post leaves the database as it was."""

from __future__ import annotations

import urllib.parse

import pytest

from app.extensions import db
from app.models import AuditEvent, Payment, Registration, User
from tests import factories as f
from tests.web.staff.test_staff_tournament import Staff

MODULES = {f"app.staff.{name}_views" for name in ("tournament", "lobby", "series", "payment", "results")}
FIELDS = [
    "name", "slug", "game", "scoring_preset", "placement_points", "kill_points", "tiebreakers", "stages",
    "advancing", "key", "tag", "participants", "status", "participant", "points", "reason", "stage", "state",
    "version", "paste", "match_id", "best_of", "participant_a", "participant_b", "winner", "score_a", "score_b",
    "game", "note", "new_rank", "confirm", "rows-0-participant", "rows-0-placement", "rows-0-kills",
    "rows-1-participant", "rows-1-placement", "rows-1-kills",
]  # fmt: skip
VALUES = ["", "\x00", "9" * 400, "-" + "9" * 30, "1e9", "[[[[", '{"results": [null]}', "A\nB,,,,", " ", "١٢"]


@pytest.fixture
def world(app, staff_user):
    with app.app_context():
        br = f.br_tournament("br-cup", teams=("A", "B"))
        lobby = f.lobby(br, [("A", 1, 1), ("B", 2, 0)])
        done = f.br_tournament("done-cup", teams=("A", "B"), status="live")
        f.lobby(done, [("A", 1, 1), ("B", 2, 0)])
        val = f.series_tournament("val-cup", teams=("A", "B"))
        s = f.series(val, "sf1", "A", "B", 3)
        game = f.game(s, None, state="scheduled")
        user = User(email="p@example.com")
        db.session.add(user)
        db.session.flush()
        reg = Registration(tournament_id=br.id, participant_id=f.participant(br, "A").id, user_id=user.id)
        db.session.add(reg)
        db.session.flush()
        payment = Payment(registration_id=reg.id, amount_cents=100)
        db.session.add(payment)
        db.session.commit()
        from app.services.standings.leaderboard import LeaderboardService

        LeaderboardService.complete_tournament("done-cup")
        return {"lobby": lobby.id, "game": game.id, "payment": payment.id}


@pytest.fixture
def staff(client, auth, world):
    auth.login()
    return Staff(client, auth.csrf_token())


def post_urls(app, world) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if view.__module__ not in MODULES or "POST" not in rule.methods:
            continue
        for slug in ("br-cup", "done-cup", "val-cup"):
            values = {"slug": slug, "match_id": world["lobby"], "key": "sf1", "payment_id": world["payment"]}
            if slug == "val-cup":
                values["match_id"] = world["game"]
            path = rule.rule
            for name, value in values.items():
                path = path.replace(f"<{name}>", str(value)).replace(f"<int(max=2147483647):{name}>", str(value))
            urls.append(path)
    return urls


def snapshot(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(AuditEvent.id)))


@pytest.mark.slow
def test_no_form_input_gives_a_500(app, staff, world):
    urls = post_urls(app, world)
    assert len(urls) >= 3 * 17  # every POST route of the feature, on each kind of tournament
    for url in urls:
        for value in VALUES:
            response = staff.post(url, dict.fromkeys(FIELDS, value))
            assert response.status_code < 500, (url, value, response.status_code)
        assert staff.post(url, {}).status_code < 500, url
        body = "csrf_token=" + urllib.parse.quote(staff.token) + "&name=%ED%A0%80&reason=%FF%FE&rows-0-placement=%C0"
        response = staff.client.post(url, data=body, content_type="application/x-www-form-urlencoded")
        assert response.status_code < 500, (url, "undecodable")


def test_refused_posts_leave_the_database_unchanged(app, staff, world):
    before = snapshot(app)
    # Scheduling a series game takes no input at all, so any post of it is a valid one.
    for url in [u for u in post_urls(app, world) if not u.endswith("/games")]:
        for value in ("\x00", "9" * 400):
            staff.post(url, dict.fromkeys(FIELDS, value))
            assert snapshot(app) == before, (url, value)
