"""The demo loads once, shows every series state, and prints a working staff login."""

from __future__ import annotations

import re

from app.extensions import db
from app.models import Series, Tournament
from app.services.registration import public_view
from app.services.registration import records as entry_records
from app.services.standings.leaderboard import LeaderboardService as LS


def test_demo_loads_once_and_prints_a_working_login(app, runner, client, auth):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "Demo loaded" in first.stdout
    assert "Notifications: in-app inbox on; webhooks off (NOTIFICATIONS_WEBHOOK_ENABLED=true" in first.stdout
    email, password = re.search(r"Staff login: (\S+) / (\S+)", first.stdout).groups()
    assert auth.login(email, password).status_code == 302
    # Running it again (every `make run`) keeps the logins and the open session.
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0 and "already loaded" in second.stdout
    assert "password printed before (unchanged" in second.stdout and "Player login" not in second.stdout
    assert client.get("/staff/").status_code == 200
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Tournament.id))) == 6
    # Asked for, fresh passwords replace the old ones.
    third = runner.invoke(args=["demo", "--new-passwords"])
    new_password = re.search(r"Staff login: \S+ / (\S+)", third.stdout).group(1)
    assert new_password != password and third.stdout.count("Player login") == 3
    auth.logout()
    assert auth.login(email, password).status_code != 302
    assert auth.login(email, new_password).status_code == 302
    assert client.get("/staff/").status_code == 200


def test_demo_covers_every_series_state_and_completed_results(app, runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        for slug in ("val-uni-playoffs", "cs2-open-playoffs"):
            tournament = db.session.scalar(db.select(Tournament).filter_by(slug=slug))
            series = db.session.scalars(db.select(Series).filter_by(tournament_id=tournament.id)).all()
            states = {LS.series_summary_by_key(slug, s.key)["status"] for s in series}
            assert states == {"completed", "in_progress", "draw", "forfeit"}, slug
        assert len(LS.results("ff-winter-qualifier")) == 8
        standings = LS.calculate_br_standings("pmcs-group-b")
        assert all(row["matches_played"] == 5 for row in standings)  # the disputed lobby does not count


def test_demo_registration_queue(app, runner, client):
    """A newcomer opens the registration queue and finds work waiting: two proofs to decide,
    a rejected one, an unpaid entry, a waiting-listed team and captains who can log in."""
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    logins = dict(re.findall(r"Captain login: (captain\d@\S+) / (\S+)", first.stdout))
    assert len(logins) == 6
    assert runner.invoke(args=["demo"]).exit_code == 0  # twice: nothing registered again
    with app.app_context():
        tournament = db.session.scalar(db.select(Tournament).filter_by(slug="ff-monsoon-open"))
        queue = entry_records.queue(tournament.id)
        assert [(e.status, e.payment_status) for e in queue] == [
            ("pending_payment", "submitted"),
            ("pending_payment", "submitted"),
            ("confirmed", "verified"),
            ("pending_payment", "rejected"),
            ("pending_payment", "none"),
            ("waitlisted", "none"),
        ]
        view = public_view.public_state(tournament)
        assert (view.state, view.taken, view.slots_left, view.waitlisted) == ("waitlist", 5, 0, 1)
    email, password = "captain2@deltacrown.local", logins["captain2@deltacrown.local"]
    page = client.get("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    token = (
        token.group(1)
        if token
        else re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)
    )
    assert client.post("/login", data={"email": email, "password": password, "csrf_token": token}).status_code == 302
    rows = client.get(f"/api/tournaments/{tournament.id}/registrations/").get_json()
    assert [r["team_name"] for r in rows] == ["Rain Runners"]


def test_a_demo_group_shows_its_advancement_line(app, client):
    with app.app_context():
        from app.services.support.demo import load_demo

        load_demo()
        db.session.commit()
    html = client.get("/tournaments/pmcs-group-b/").get_data(as_text=True)
    assert "Advancement line: the top 8 qualify" in html
