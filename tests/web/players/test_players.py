"""Player accounts: sign-up, joining a team with its join code (and only with it), the CLI that
issues codes."""

from __future__ import annotations

import re

from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import AuditEvent, Payment, Registration, TeamJoinCode, User
from tests import factories
from tests.conftest import PLAYER_EMAIL, PLAYER_PASSWORD, create_user, csrf_token_from

CODE_RE = re.compile(r"^([A-Za-z0-9-]+)\t([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})\t(.+)$")


def _signup(client, **fields):
    token = csrf_token_from(client.get("/signup").get_data(as_text=True))
    data = {"email": "new@example.com", "password": "a good password", "confirm": "a good password"}
    data.update(fields)
    response = client.post("/signup", data={"csrf_token": token, **data})
    if response.status_code == 302:
        # Sign-up does not log in (it answers the same for a taken address): log in as a person would.
        login = csrf_token_from(client.get("/login").get_data(as_text=True))
        logged_in = client.post(
            "/login", data={"csrf_token": login, "email": data["email"], "password": data["password"]}
        )
        assert logged_in.status_code == 302
    return response


def _tournaments(app):
    with app.app_context():
        factories.br_tournament("cup-one", teams=("A", "B"))
        factories.br_tournament("cup-two", teams=("X", "Y"))
        db.session.commit()


def _codes(runner, *args) -> dict[str, str]:
    result = runner.invoke(args=["players", "join-code", *args])
    assert result.exit_code == 0, result.output
    codes = {}
    for line in result.output.strip().splitlines():
        match = CODE_RE.match(line)
        assert match, line
        codes[match.group(1)] = match.group(2)
    return codes


def _join(client, code):
    token = csrf_token_from(client.get("/account/teams").get_data(as_text=True))
    return client.post("/account/teams", data={"csrf_token": token, "code": code})


def _registrations(app, user_id):
    with app.app_context():
        return sorted(
            (r.participant.tournament.slug, r.participant.key)
            for r in db.session.scalars(select(Registration).where(Registration.user_id == user_id))
        )


def test_signup_makes_a_player_without_staff_rights(app, client):
    response = _signup(client, email="  New@Example.com ", display_name="Nadia")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new@example.com"))
        assert user is not None and user.display_name == "Nadia"
        assert not user.is_staff and not user.is_admin
        assert user.password_hash and "a good password" not in user.password_hash
    page = client.get("/inbox")
    assert page.status_code == 200
    assert 'id="inbox-unread"' in page.get_data(as_text=True)
    assert client.get("/staff/").status_code == 403


def test_player_logs_in_at_the_shared_login(app, client, auth, player_user):
    response = auth.login(PLAYER_EMAIL, PLAYER_PASSWORD)
    assert response.status_code == 302
    assert client.get("/inbox").status_code == 200


def test_signup_refusals_leave_no_account(app, client):
    assert _signup(client, email="dup@example.com").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/inbox").get_data(as_text=True))})
    cases = [
        ({"email": "not-an-email"}, 400, "valid email"),
        ({"password": "short", "confirm": "short"}, 400, "at least 8"),
        ({"confirm": "something else"}, 400, "passwords differ"),
        ({"display_name": "x" * 121}, 400, "120"),
        ({"display_name": "bad\x00name"}, 400, "cannot be stored"),
    ]
    for fields, status, message in cases:
        response = _signup(client, **fields)
        assert response.status_code == status, fields
        assert message in response.get_data(as_text=True), fields
    no_csrf = client.post("/signup", data={"email": "c@example.com", "password": "a good password"})
    assert no_csrf.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1


def test_join_code_links_a_player_to_that_team_only(app, client, runner):
    _tournaments(app)
    codes = _codes(runner, "cup-one")
    assert set(codes) == {"A", "B"}
    with app.app_context():
        stored = db.session.scalars(select(TeamJoinCode.code_hash)).all()
        assert len(stored) == 2 and not any(c.replace("-", "") in h for c in codes.values() for h in stored)
    _signup(client, email="p1@example.com")
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == "p1@example.com"))

    # Typed sloppily: lower case, spaces instead of dashes.
    sloppy = codes["B"].lower().replace("-", " ")
    response = _join(client, sloppy)
    assert response.status_code == 302
    assert _registrations(app, user_id) == [("cup-one", "B")]
    page = client.get("/account/teams").get_data(as_text=True)
    assert "Team B" in page and "You joined Team B" in page

    # Again: nothing new. Another team of the same tournament: refused.
    assert _join(client, codes["B"]).status_code == 302
    refused = _join(client, codes["A"])
    assert refused.status_code == 409
    assert "already on Team B" in refused.get_data(as_text=True)
    assert _registrations(app, user_id) == [("cup-one", "B")]


def test_join_refuses_wrong_malformed_and_replaced_codes(app, client, runner):
    _tournaments(app)
    old = _codes(runner, "cup-two", "X")["X"]
    new = _codes(runner, "cup-two", "X")["X"]
    assert old != new
    _signup(client, email="p2@example.com")
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == "p2@example.com"))
    for code, status, message in [
        (old, 404, "No team has this join code"),
        ("ABCD-EFGH-JKMN-PQRS", 404, "No team has this join code"),
        ("hello", 400, "16 letters and digits"),
        ("' OR 1=1 --", 400, "16 letters and digits"),
        ("", 400, "This field is required"),
    ]:
        response = _join(client, code)
        assert response.status_code == status, code
        assert message in response.get_data(as_text=True), code
    assert _registrations(app, user_id) == []
    assert _join(client, new).status_code == 302
    assert _registrations(app, user_id) == [("cup-two", "X")]


def test_join_needs_login_and_csrf(app, client, runner):
    _tournaments(app)
    code = _codes(runner, "cup-one", "A")["A"]
    response = client.post("/account/teams", data={"code": code})
    assert response.status_code in (302, 400)
    _signup(client, email="p3@example.com")
    assert client.post("/account/teams", data={"code": code}).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(Registration.id))) == 0


def test_join_code_cli_refuses_unknown_names(app, runner):
    _tournaments(app)
    for args, message in [
        (["nope"], "no tournament with slug 'nope'"),
        (["cup-one", "A", "Z"], "has no participant 'Z'"),
    ]:
        result = runner.invoke(args=["players", "join-code", *args])
        assert result.exit_code == 1
        assert message in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(TeamJoinCode.id))) == 0


def test_demo_prints_player_logins_on_their_teams(app, runner, client, auth):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    logins = re.findall(r"Player login: (\S+) / (\S+)", result.stdout)
    assert [email for email, _ in logins] == [
        "player1@deltacrown.local",
        "player2@deltacrown.local",
        "player3@deltacrown.local",
    ]
    email, password = logins[0]
    assert auth.login(email, password).status_code == 302
    teams = client.get("/account/teams").get_data(as_text=True)
    assert "Northern Lights" in teams and "CS2 Open Playoffs" in teams
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "Live now: Grand Final, game 3: Northern Lights vs Pixel Pushers" in inbox
    assert client.get("/staff/").status_code == 403
    # Run again: same accounts, same passwords (their sessions keep working), nothing doubled.
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and "Player login" not in again.stdout
    auth.logout()
    assert auth.login(email, password).status_code == 302
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == "player1@deltacrown.local"))
    assert _registrations(app, user_id) == [("cs2-open-playoffs", "team-1")]


def test_leaving_a_team_only_own_and_only_without_a_payment(app, client, runner):
    _tournaments(app)
    codes = _codes(runner, "cup-one")
    _signup(client, email="p4@example.com")
    _join(client, codes["A"])
    other = create_user(app, "other@example.com", "other password 1")
    with app.app_context():
        me = db.session.scalar(select(User.id).where(User.email == "p4@example.com"))
        mine = db.session.scalar(select(Registration).where(Registration.user_id == me))
        mine_id = mine.id
        theirs = Registration(tournament_id=mine.tournament_id, participant_id=mine.participant_id, user_id=other)
        db.session.add(theirs)
        db.session.commit()
        theirs_id = theirs.id
    token = csrf_token_from(client.get("/account/teams").get_data(as_text=True))
    assert client.post(f"/account/teams/{mine_id}/leave").status_code == 400  # no CSRF token
    assert client.post(f"/account/teams/{theirs_id}/leave", data={"csrf_token": token}).status_code == 404
    with app.app_context():
        db.session.add(Payment(registration_id=mine_id, amount_cents=100))
        db.session.commit()
    refused = client.post(
        f"/account/teams/{mine_id}/leave", data={"csrf_token": token, "confirmed": "yes"}, follow_redirects=True
    )
    assert "has a payment on record" in refused.get_data(as_text=True)
    assert _registrations(app, me) == [("cup-one", "A")]
    with app.app_context():
        db.session.execute(delete(Payment))
        db.session.commit()
    # The button asks first (a confirm page, no JavaScript needed); only its own form leaves.
    asked = client.post(f"/account/teams/{mine_id}/leave", data={"csrf_token": token})
    assert asked.status_code == 200 and "Leave Team A?" in asked.get_data(as_text=True)
    assert _registrations(app, me) == [("cup-one", "A")]
    left = client.post(
        f"/account/teams/{mine_id}/leave", data={"csrf_token": token, "confirmed": "yes"}, follow_redirects=True
    )
    assert "You left Team A." in left.get_data(as_text=True)
    assert _registrations(app, me) == [] and _registrations(app, other) == [("cup-one", "A")]
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "registration.removed"))
        assert event.actor_id == me and event.before == {"user_id": me, "participant_id": "A"}


def test_organiser_removes_a_player_with_the_cli(app, client, runner):
    _tournaments(app)
    _signup(client, email="p5@example.com")
    _join(client, _codes(runner, "cup-two", "Y")["Y"])
    with app.app_context():
        me = db.session.scalar(select(User.id).where(User.email == "p5@example.com"))
        registration_id = db.session.scalar(select(Registration.id).where(Registration.user_id == me))
        db.session.add(Payment(registration_id=registration_id, amount_cents=100))
        db.session.commit()
    refused = runner.invoke(args=["players", "remove", "cup-two", "P5@example.com"])
    assert refused.exit_code == 1 and "has a payment on record" in refused.output
    for args, message in [
        (["cup-one", "p5@example.com"], "is not on a team in cup-one"),
        (["nope", "p5@example.com"], "no tournament with slug 'nope'"),
    ]:
        result = runner.invoke(args=["players", "remove", *args])
        assert result.exit_code == 1 and message in result.output
    assert _registrations(app, me) == [("cup-two", "Y")]
    with app.app_context():
        db.session.execute(delete(Payment))
        db.session.commit()
    result = runner.invoke(args=["players", "remove", "cup-two", "p5@example.com"])
    assert result.exit_code == 0 and "Removed p5@example.com from Team Y." in result.output
    assert _registrations(app, me) == []
