"""Issue 11, organisers' corrections: drafts private on every public route, renaming and removing
teams, editing and deleting adjustments, voiding and restoring lobbies (no player told), confirm
pages before what cannot be undone, reserved lobby keys, and the API's side of all of it
(Idempotency-Key included)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    IdempotencyRecord,
    LobbyKeyReservation,
    Match,
    Notification,
    Participant,
    PointAdjustment,
    Registration,
    Tournament,
    User,
    utcnow,
)
from app.notifications.models import OutboxEvent
from app.services.accounts.tokens import create_token
from app.services.results import lobby_keys
from app.services.standings.leaderboard import LeaderboardService
from app.services.support import idempotency
from app.services.tournaments import corrections
from tests import factories as f
from tests.conftest import PLAYER_EMAIL, PLAYER_PASSWORD, STAFF_PASSWORD, create_user
from tests.web.staff.test_staff_tournament import Staff, text

URL = "/staff/tournaments/ff-cup"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def cup(app, player_user):
    """A live battle-royale cup: m1 (A 1st, B 2nd) and m2 (B 1st, A 2nd) count; the player is on A."""
    with app.app_context():
        t = f.br_tournament("ff-cup", preset="ffws", teams=("A", "B", "C", "D"))
        m1 = f.lobby(t, [("A", 1, 5), ("B", 2, 3)], stage="Day 1")
        m2 = f.lobby(t, [("B", 1, 2), ("A", 2, 1)], stage="Day 1")
        db.session.add(Registration(tournament_id=t.id, participant_id=f.participant(t, "A").id, user_id=player_user))
        db.session.commit()
        return {"id": t.id, "m1": m1.id, "m2": m2.id}


@pytest.fixture
def staff(client, auth, staff_user, cup):
    auth.login()
    return Staff(client, auth.csrf_token())


@pytest.fixture
def token(app, staff_user):
    with app.app_context():
        return create_token(staff_user)


def standings(client) -> dict[str, int]:
    return {r["participant_id"]: r["total_points"] for r in client.get("/api/tournaments/ff-cup/leaderboard/").json}


def events(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxEvent.type).order_by(OutboxEvent.id)))


def audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        db.session.expunge_all()
        return rows


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# ------------------------------------------------------------------------------ drafts


@pytest.fixture
def drafts(app):
    """A battle-royale draft and a series draft, each with something to show on every route."""
    with app.app_context():
        br = f.br_tournament("secret-br", status="draft")
        lobby = f.lobby(br, [("A", 1, 3), ("B", 2, 0)], stage="Day 1")
        sr = f.series_tournament("secret-val", status="draft")
        series = f.series(sr, "sf1", "A", "B", 3)
        game = f.game(series, "A")
        db.session.commit()
        return {
            "secret-br": {"series_key": "sf1", "match_id": lobby.id, "id": br.id},
            "secret-val": {"series_key": "sf1", "match_id": game.id, "id": sr.id},
        }


def _public_tournament_routes(app):
    """Every GET route outside the staff portal that names a tournament (by slug or ref)."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/staff/") or "GET" not in rule.methods:
            continue
        if not ({"slug", "ref"} & set(rule.arguments)):
            continue
        yield rule


def _url(rule, slug: str, values: dict) -> str:
    args = {}
    for name in rule.arguments:
        if name in ("slug", "ref"):
            args[name] = slug
        elif name in values:
            args[name] = values[name]
        else:  # a new public route with an argument this test does not know: teach it here
            raise AssertionError(f"{rule.rule}: no test value for <{name}>")
    return app_url(rule, args)


def app_url(rule, args):
    from flask import url_for

    return url_for(rule.endpoint, **args)


# Reading a draft's final results as staff is refused for the draft's own reason: not completed.
# Staff reach the draft; these answer for what the draft lacks (no final results, no registration).
STAFF_STATUS = {"api.results": 409, "api.registration_settings": 404}


def test_every_public_route_hides_drafts_from_all_but_staff(app, client, auth, drafts, staff_user, player_user):
    rules = list(_public_tournament_routes(app))
    endpoints = {r.endpoint for r in rules}
    # The walk finds the routes this issue names (and any added later).
    assert {"public.tournament", "public.series", "public.standings_csv", "embed.widget", "api.tournament"} <= (
        endpoints
    )
    with app.test_request_context():
        urls = {(rule.endpoint, slug): _url(rule, slug, values) for rule in rules for slug, values in drafts.items()}
    # Staff-only reads answer anonymous callers 401 and players 403 whatever the tournament.
    staff_only = {r.endpoint for r in rules if getattr(app.view_functions[r.endpoint], "staff_only", False)}
    # API calls that need any signed-in account answer anonymous callers 401 before any lookup.
    signed_in = {r.endpoint for r in rules if getattr(app.view_functions[r.endpoint], "signed_in_only", False)}
    hidden = {True: 401, False: 404}
    for (endpoint, _slug), url in urls.items():
        for headers in ({}, {"HX-Request": "true"}):
            expected = hidden[endpoint in signed_in]
            assert client.get(url, headers=headers).status_code == expected, (url, "anonymous", headers)
    bad_token = {"Authorization": "Bearer not-a-token"}
    for (endpoint, _slug), url in urls.items():
        if endpoint.startswith("api."):
            assert client.get(url, headers=bad_token).status_code == hidden[endpoint in signed_in], url

    auth.login(PLAYER_EMAIL, PLAYER_PASSWORD)
    for (endpoint, _slug), url in urls.items():
        assert client.get(url).status_code == (403 if endpoint in staff_only else 404), (url, "player")
    auth.logout()

    auth.login()
    seen = {}
    for (endpoint, _slug), url in urls.items():
        response = client.get(url)
        seen.setdefault(endpoint, set()).add(response.status_code)
        if response.status_code == 200 and not endpoint.startswith("api."):
            # Rendered for this staff member alone: never stored for the public.
            assert response.headers["Cache-Control"].startswith("private"), url
    # Each route shows staff the draft it fits (a series page: the series draft, and so on).
    for endpoint, statuses in seen.items():
        assert STAFF_STATUS.get(endpoint, 200) in statuses, (endpoint, statuses)
    page = text(client.get("/tournaments/secret-br/"))
    assert "Draft — only staff see this" in page
    assert client.get("/tournaments/secret-br/standings.csv").mimetype == "text/csv"
    with app.app_context():
        from app.live import render_cache

        cache = render_cache()
        assert (cache.renders, len(cache._items), len(cache._values)) == (0, 0, 0)  # nothing of a draft stored
    auth.logout()
    # The staff member's renders were not cached for anyone else.
    for (endpoint, _slug), url in urls.items():
        assert client.get(url).status_code == hidden[endpoint in signed_in], (url, "anonymous after staff")


def test_drafts_are_left_out_of_lists(app, client, auth, drafts, staff_user, token):
    with app.app_context():
        f.br_tournament("open-cup", status="live")
        db.session.commit()
    home = text(client.get("/"))
    assert "Open Cup" in home and "Secret" not in home
    assert [t["slug"] for t in client.get("/api/tournaments/").json] == ["open-cup"]
    listed = [t["slug"] for t in client.get("/api/tournaments/", headers=bearer(token)).json]
    assert set(listed) == {"open-cup", "secret-br", "secret-val"}
    assert client.get("/api/tournaments/secret-br/", headers=bearer(token)).json["status"] == "draft"
    auth.login()
    home = text(client.get("/"))
    assert "Secret Br" in home and "Draft — only staff see this" in home
    assert client.get("/").headers["Cache-Control"].startswith("private")


def test_opening_registration_makes_a_draft_public(app, client, drafts, staff_user):
    from app.services.tournaments import states

    assert client.get("/tournaments/secret-br/").status_code == 404
    with app.app_context():
        states.advance_tournament("secret-br", "registration", staff_user)
    assert client.get("/tournaments/secret-br/").status_code == 200
    assert client.get("/embed/secret-br").status_code == 200


# ------------------------------------------------------------------------------ rename / remove


def test_rename_shows_everywhere_at_once(app, client, staff, cup):
    # Warm every cache first, as viewers would have.
    assert "Team A" in text(client.get("/tournaments/ff-cup/"))
    assert "Team A" in text(client.get("/embed/ff-cup"))
    assert "Team A" in text(client.get("/tournaments/ff-cup/standings.csv"))
    form = staff.get(f"{URL}/participants/A/edit")
    assert form.status_code == 200 and 'value="Team A"' in text(form)
    before = events(app)
    response = staff.post(f"{URL}/participants/A/edit", {"name": "Phoenix Esports", "tag": "PHX"})
    assert response.status_code == 302
    for url in ("/tournaments/ff-cup/", "/embed/ff-cup", "/tournaments/ff-cup/standings.csv"):
        body = text(client.get(url))
        assert "Phoenix Esports" in body and "Team A" not in body, url
    names = {
        r["participant_id"]: r["participant_name"] for r in client.get("/api/tournaments/ff-cup/leaderboard/").json
    }
    assert names["A"] == "Phoenix Esports"
    (event,) = audit(app, "participant.renamed")
    assert event.before == {"key": "A", "name": "Team A", "tag": None}
    assert event.after == {"key": "A", "name": "Phoenix Esports", "tag": "PHX"}
    assert events(app)[len(before) :] == ["leaderboard.updated"]
    assert count(app, Notification) == 0


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "team b", "tag": ""}, "is already registered (as B)"),
        ({"name": "", "tag": ""}, "This field is required"),
        ({"name": "X", "tag": "T" * 21}, "20 characters"),
    ],
)
def test_rename_refusals_change_nothing(app, staff, data, message):
    response = staff.post(f"{URL}/participants/A/edit", data)
    assert response.status_code == 400 and message in text(response)
    assert audit(app, "participant.renamed") == []
    assert staff.get(f"{URL}/participants/nobody/edit").status_code == 404


def test_remove_a_team_only_without_counted_results(app, client, staff, cup):
    refused = staff.get(f"{URL}/participants/A/remove")
    assert refused.status_code == 200 and "This cannot be done now" in text(refused)
    assert "has results in lobbies m1, m2" in text(refused)
    forced = staff.post(f"{URL}/participants/A/remove", {"confirmed": "yes"})
    assert forced.status_code == 409 and "correct or void those lobbies first" in text(forced)
    with app.app_context():
        f.adjust(db.session.get(Tournament, cup["id"]), "C", -2)
        db.session.commit()
    asked = staff.post(f"{URL}/participants/C/remove")
    assert asked.status_code == 200 and "Remove Team C?" in text(asked)
    assert 'name="confirmed" value="yes"' in text(asked)
    assert count(app, Participant) == 4  # asking removed nothing
    done = staff.post(f"{URL}/participants/C/remove", {"confirmed": "yes"})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Participant).filter_by(key="C")) is None
    assert count(app, PointAdjustment) == 0
    (event,) = audit(app, "participant.removed")
    assert event.before["name"] == "Team C" and event.before["adjustments"] == [
        {"points": -2, "reason": "Penalty for late lobby"}
    ]
    assert staff.post(f"{URL}/participants/C/remove", {"confirmed": "yes"}).status_code == 404


def test_remove_a_team_whose_only_lobby_is_voided(app, staff, cup):
    from app.services.accounts.players import issue_join_code

    player = create_user(app, "d-player@example.com", "d player password 1")
    with app.app_context():
        t = db.session.get(Tournament, cup["id"])
        m3 = f.lobby(t, [("D", 1, 0)])
        d = f.participant(t, "D")
        db.session.add(Registration(tournament_id=t.id, participant_id=d.id, user_id=player))
        issue_join_code(d, None)
        db.session.commit()
        m3_id = m3.id
        corrections.void_lobby("ff-cup", m3_id, "entered by mistake", None)
    assert staff.post(f"{URL}/participants/D/remove", {"confirmed": "yes"}).status_code == 302
    (event,) = audit(app, "participant.removed")
    assert event.before["lines_in_voided_or_cancelled_lobbies"] == ["m3"] and event.before["players"] == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(Registration.id)).where(Registration.user_id == player)) == 0
        # The voided lobby keeps its other lines (none here) and stays voided.
        assert db.session.get(Match, m3_id).voided_at is not None


# ------------------------------------------------------------------------------ adjustments


def test_edit_and_delete_an_adjustment_in_the_portal(app, client, staff, cup):
    assert staff.post(f"{URL}/adjustments", {"participant": "B", "points": "-5", "reason": "Late"}).status_code == 302
    with app.app_context():
        adjustment_id = db.session.scalar(select(PointAdjustment.id))
    base = standings(client)
    page = staff.get(f"{URL}/adjustments/{adjustment_id}/edit")
    assert page.status_code == 200 and 'value="-5"' in text(page)
    bad = staff.post(f"{URL}/adjustments/{adjustment_id}/edit", {"points": "0", "reason": "Late"})
    assert bad.status_code == 400 and "must not be 0" in text(bad)
    edited = staff.post(
        f"{URL}/adjustments/{adjustment_id}/edit", {"points": "-3", "reason": "Late (2 min)", "note": "Checked VOD"}
    )
    assert edited.status_code == 302
    assert standings(client)["B"] == base["B"] + 2
    (event,) = audit(app, "adjustment.edited")
    assert event.before == {"participant_id": "B", "points": -5, "reason": "Late"}
    assert event.after == {"participant_id": "B", "points": -3, "reason": "Late (2 min)"}
    assert event.reason == "Checked VOD"

    asked = staff.post(f"{URL}/adjustments/{adjustment_id}/delete")
    assert asked.status_code == 200 and "Delete the -3 adjustment of Team B?" in text(asked)
    no_reason = staff.post(f"{URL}/adjustments/{adjustment_id}/delete", {"confirmed": "yes", "reason": " "})
    assert no_reason.status_code == 400 and "required" in text(no_reason)
    deleted = staff.post(f"{URL}/adjustments/{adjustment_id}/delete", {"confirmed": "yes", "reason": "Wrong team"})
    assert deleted.status_code == 302
    assert standings(client)["B"] == base["B"] + 5
    (event,) = audit(app, "adjustment.deleted")
    assert event.before["points"] == -3 and event.reason == "Wrong team"
    assert count(app, Notification) == 0


# ------------------------------------------------------------------------------ void / restore


def test_void_a_lobby_stops_it_counting_and_tells_no_player(app, client, staff, cup):
    before = standings(client)
    start = len(events(app))
    lobbies = text(staff.get(f"{URL}/lobbies/"))
    assert f'action="{URL}/lobbies/{cup["m1"]}/void"' in lobbies
    asked = staff.post(f"{URL}/lobbies/{cup['m1']}/void")
    assert asked.status_code == 200 and "Void lobby m1?" in text(asked) and "No player is told" in text(asked)
    assert standings(client) == before
    short = staff.post(f"{URL}/lobbies/{cup['m1']}/void", {"confirmed": "yes", "reason": "dup"})
    assert short.status_code == 400 and "at least 5 characters" in text(short)
    done = staff.post(f"{URL}/lobbies/{cup['m1']}/void", {"confirmed": "yes", "reason": "Entered twice (see m2)"})
    assert done.status_code == 302
    after = standings(client)
    assert after["A"] == before["A"] - 17 and after["B"] == before["B"] - 12  # 12+5 and 9+3 gone
    public = text(client.get("/tournaments/ff-cup/"))
    assert re.findall(r'<th scope="row">(m\d+)</th>', public) == ["m2"]  # the public list leaves m1 out
    assert events(app)[start:] == ["leaderboard.updated"]
    assert count(app, Notification) == 0
    with app.app_context():
        m1 = db.session.get(Match, cup["m1"])
        assert m1.state == "completed" and m1.voided_at is not None and m1.void_reason == "Entered twice (see m2)"
    listed = text(staff.get(f"{URL}/lobbies/"))
    assert "Void</span>" in listed and f"{URL}/lobbies/{cup['m1']}/restore" in listed
    again = staff.post(f"{URL}/lobbies/{cup['m1']}/void", {"confirmed": "yes", "reason": "Entered twice"})
    assert again.status_code == 409
    moved = staff.post(f"{URL}/matches/{cup['m1']}/state", {"state": "disputed", "reason": "Contested kills"})
    assert moved.status_code == 409 and "restore it before" in text(moved)

    restored = staff.post(f"{URL}/lobbies/{cup['m1']}/restore", {"reason": ""})
    assert restored.status_code == 302
    assert standings(client) == before
    assert events(app)[start:] == ["leaderboard.updated", "leaderboard.updated"]
    assert [e.action for e in audit(app, "match.voided") + audit(app, "match.restored")] == [
        "match.voided",
        "match.restored",
    ]
    assert count(app, Notification) == 0


def test_voided_lobby_is_left_out_of_counts_exports_and_completion(app, client, staff, cup):
    from app.services.tournaments.file import export_tournament

    with app.app_context():
        t = db.session.get(Tournament, cup["id"])
        live = f.lobby(t, [("C", 1, 0)], state="live")
        db.session.commit()
        corrections.void_lobby("ff-cup", live.id, "Test lobby by mistake", None)
        corrections.void_lobby("ff-cup", cup["m2"], "Entered twice", None)
        assert [m["key"] for m in export_tournament("ff-cup")["matches"]] == ["m1"]
        rows = LeaderboardService.calculate_br_standings("ff-cup")
        assert {r["participant_id"]: r["matches_played"] for r in rows} == {"A": 1, "B": 1}
    # The voided live lobby does not block completion.
    done = staff.post(f"{URL}/complete", {"confirmed": "yes"})
    assert done.status_code == 302
    assert client.get("/api/tournaments/ff-cup/results/").json[0]["participant_id"] == "A"


# ------------------------------------------------------------------------------ confirm pages


def test_complete_has_a_confirm_page_without_and_with_htmx(app, client, staff, cup):
    overview = text(staff.get(f"{URL}/"))
    assert f'action="{URL}/complete"' in overview
    shown = staff.get(f"{URL}/complete")
    assert shown.status_code == 200 and "freeze its results?" in text(shown)
    assert re.search(r'<form method="post" action="/staff/tournaments/ff-cup/complete"', text(shown))
    assert staff.post(f"{URL}/complete").status_code == 200
    with app.app_context():
        assert db.session.get(Tournament, cup["id"]).status == "live"
    hx = staff.post(f"{URL}/complete", {"confirmed": "yes"}, headers={"HX-Request": "true"})
    assert hx.status_code == 204 and hx.headers["HX-Redirect"] == f"{URL}/results/"
    with app.app_context():
        assert db.session.get(Tournament, cup["id"]).status == "completed"
    blocked = staff.get(f"{URL}/complete")
    assert "This cannot be done now" in text(blocked)


def test_resolve_dispute_has_its_own_note(app, staff, cup):
    disputed = staff.post(f"{URL}/matches/{cup['m2']}/state", {"state": "disputed", "reason": "Kills contested"})
    assert disputed.status_code == 302
    page = text(staff.get(f"{URL}/lobbies/"))
    assert f'id="note-{cup["m2"]}" name="note"' in page
    resolved = staff.post(
        f"{URL}/matches/{cup['m2']}/state", {"state": "completed", "reason": "", "note": "VOD checked: kills stand"}
    )
    assert resolved.status_code == 302
    moves = audit(app, "match.state_changed")
    assert [(e.after["state"], e.reason) for e in moves] == [
        ("disputed", "Kills contested"),
        ("completed", "VOD checked: kills stand"),
    ]


# ------------------------------------------------------------------------------ lobby keys


def _grid_data(page: str, rows: dict[str, tuple[str, str]]) -> dict[str, str]:
    key = re.search(r'name="key"[^>]*value="([^"]*)"', page) or re.search(r'id="key"[^>]*value="([^"]*)"', page)
    data = {"stage": "Day 2", "state": "completed", "key": key.group(1)}
    for i, team in enumerate(("A", "B", "C", "D")):
        placement, kills = rows.get(team, ("", ""))
        data |= {f"rows-{i}-participant": team, f"rows-{i}-placement": placement, f"rows-{i}-kills": kills}
    return data


def test_two_staff_get_different_keys_and_a_duplicate_save_is_refused(app, staff, cup):
    other_client = app.test_client()
    create_user(app, "second@example.com", STAFF_PASSWORD, staff=True)
    from tests.conftest import AuthActions

    other_auth = AuthActions(other_client)
    other_auth.login("second@example.com", STAFF_PASSWORD)
    other = Staff(other_client, other_auth.csrf_token())

    mine = text(staff.get(f"{URL}/lobbies/new"))
    theirs = text(other.get(f"{URL}/lobbies/new"))
    assert 'value="m3"' in mine and 'value="m4"' in theirs
    assert 'value="m3"' in text(staff.get(f"{URL}/lobbies/new"))  # a reload keeps my key
    assert count(app, LobbyKeyReservation) == 2

    data = _grid_data(mine, {"A": ("1", "2"), "B": ("2", "0")})
    assert staff.post(f"{URL}/lobbies/new", data).status_code == 302
    # The same entry saved again (a second tab, a double submit, or the other staff typing m3).
    second = other.post(f"{URL}/lobbies/new", data)
    assert second.status_code == 409
    body = text(second)
    assert "lobby m3 is already saved" in body
    with app.app_context():
        first_id = db.session.scalar(select(Match.id).filter_by(key="m3"))
        assert db.session.scalar(select(func.count(Match.id))) == 3
    assert f'href="{URL}/lobbies/{first_id}/edit"' in body
    # The saved key is released; the other staff's m4 still holds, so I get m5 next.
    assert 'value="m5"' in text(staff.get(f"{URL}/lobbies/new"))


def test_api_lobby_without_key_skips_reserved_keys_and_reservations_expire(app, client, cup, staff_user, token):
    with app.app_context():
        t = db.session.get(Tournament, cup["id"])
        assert lobby_keys.reserve_key(t, staff_user) == "m3"
    entry = {"results": [{"participant": "A", "placement": 1, "kills": 0}]}
    assert client.post("/api/tournaments/ff-cup/matches/", json=entry, headers=bearer(token)).json["key"] == "m4"
    with app.app_context():
        t = db.session.get(Tournament, cup["id"])
        later = utcnow() + timedelta(minutes=lobby_keys.RESERVATION_MINUTES + 1)
        other = create_user(app, "third@example.com", STAFF_PASSWORD, staff=True)
        assert lobby_keys.reserve_key(t, other, now=later) == "m3"  # mine expired and was pruned
        assert db.session.scalar(select(func.count(LobbyKeyReservation.id))) == 1


# ------------------------------------------------------------------------------ API


LOBBY = {"stage": "Day 2", "results": [{"participant": "C", "placement": 1, "kills": 4}]}


def test_idempotency_key_replays_the_first_answer(app, client, cup, token, staff_user):
    headers = {**bearer(token), "Idempotency-Key": "bot-lobby-7"}
    first = client.post("/api/tournaments/ff-cup/matches/", json=LOBBY, headers=headers)
    assert first.status_code == 201
    again = client.post(
        "/api/tournaments/ff-cup/matches/",
        data='{ "results": [{"kills": 4, "placement": 1, "participant": "C"}], "stage": "Day 2"}',
        headers=headers,
    )
    assert (again.status_code, again.json) == (201, first.json)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(app, Match) == 3
    other_body = client.post("/api/tournaments/ff-cup/matches/", json={**LOBBY, "stage": "Day 3"}, headers=headers)
    assert other_body.status_code == 409 and "different request" in other_body.json["error"]
    other_place = client.post("/api/tournaments/1/matches/", json=LOBBY, headers=headers)
    assert other_place.status_code == 409
    # Another caller's keys are their own.
    with app.app_context():
        second_token = create_token(create_user(app, "bot2@example.com", STAFF_PASSWORD, staff=True))
    theirs = client.post(
        "/api/tournaments/ff-cup/matches/",
        json=LOBBY,
        headers={**bearer(second_token), "Idempotency-Key": "bot-lobby-7"},
    )
    assert theirs.status_code == 201 and theirs.json["match_id"] != first.json["match_id"]
    assert count(app, Match) == 4
    assert count(app, IdempotencyRecord) == 2


def test_idempotency_failures_store_nothing_and_keys_expire(app, client, cup, token, staff_user):
    headers = {**bearer(token), "Idempotency-Key": "k1"}
    bad = client.post("/api/tournaments/ff-cup/matches/", json={"results": [{"participant": "Z"}]}, headers=headers)
    assert bad.status_code == 400 and count(app, IdempotencyRecord) == 0
    assert client.post("/api/tournaments/ff-cup/matches/", json=LOBBY, headers=headers).status_code == 201
    for raw in ("", "x" * 256, "with space", "ünicode"):
        refused = client.post(
            "/api/tournaments/ff-cup/matches/", json=LOBBY, headers={**bearer(token), "Idempotency-Key": raw}
        )
        assert refused.status_code == 400 and "Idempotency-Key" in refused.json["error"], raw
    with app.app_context():
        later = utcnow() + idempotency.TTL + timedelta(seconds=1)
        claimed = idempotency.claim(f"user:{staff_user}", "k2", "x" * 64, now=later)
        assert isinstance(claimed, IdempotencyRecord)
        db.session.flush()
        assert list(db.session.scalars(select(IdempotencyRecord.key))) == ["k2"]  # k1 pruned
        db.session.rollback()


def test_api_corrects_a_lobby(app, client, cup, token):
    url = f"/api/tournaments/ff-cup/matches/{cup['m1']}/results/"
    body = {"results": [{"participant": "A", "placement": 2, "kills": 5}, {"participant": "B", "placement": 1}]}
    done = client.put(url, json=body, headers=bearer(token))
    assert done.status_code == 200
    assert done.json["results"] == [
        {"participant": "B", "placement": 1, "kills": 0},
        {"participant": "A", "placement": 2, "kills": 5},
    ]
    (event,) = audit(app, "match.results_corrected")
    assert event.before["results"] == {"A": [1, 5], "B": [2, 3]}
    stale = client.put(url, json={**body, "version": done.json["version"] - 1}, headers=bearer(token))
    assert stale.status_code == 409 and "changed by someone else" in stale.json["error"]
    for bad, message in [
        ({}, "results: required"),
        ({"results": ["A"]}, "results[0]: must be an object"),
        ({"results": [{"participant": "A", "placement": "1"}]}, "results[0].placement: must be a whole number"),
        ({"results": [{"participant": "A", "placement": 1}, {"participant": "B", "placement": 1}]}, "placement 1"),
        ({"results": [{"participant": "Z", "placement": 1}]}, "results[0]: unknown team"),
        ({"results": [{"participant": "A", "placement": 1}], "version": "x"}, "version:"),
    ]:
        response = client.put(url, json=bad, headers=bearer(token))
        assert response.status_code == 400 and message in response.json["error"], (bad, response.json)
    assert client.put(url, json=body).status_code == 401
    assert (
        client.put("/api/tournaments/ff-cup/matches/99999/results/", json=body, headers=bearer(token)).status_code
        == 404
    )


def test_api_adjustments_add_edit_delete(app, client, cup, token):
    base = "/api/tournaments/ff-cup/adjustments/"
    added = client.post(base, json={"participant_id": "B", "points": -5, "reason": "Late"}, headers=bearer(token))
    assert added.status_code == 201 and added.json["points"] == -5
    aid = added.json["id"]
    assert [a["id"] for a in client.get(base, headers=bearer(token)).json] == [aid]
    edited = client.patch(f"{base}{aid}/", json={"points": -2, "note": "Reviewed"}, headers=bearer(token))
    assert edited.status_code == 200 and (edited.json["points"], edited.json["reason"]) == (-2, "Late")
    assert client.patch(f"{base}{aid}/", json={"points": 0}, headers=bearer(token)).json == {
        "error": "points: must not be 0 (delete the adjustment instead)"
    }
    assert client.patch(f"{base}{aid}/", json={"points": "3"}, headers=bearer(token)).status_code == 400
    no_reason = client.delete(f"{base}{aid}/", json={}, headers=bearer(token))
    assert no_reason.status_code == 400 and no_reason.json["error"].startswith("reason:")
    deleted = client.delete(f"{base}{aid}/", json={"reason": "Wrong team"}, headers=bearer(token))
    assert deleted.status_code == 200 and deleted.json["deleted"] is True
    assert client.delete(f"{base}{aid}/", json={"reason": "Again"}, headers=bearer(token)).status_code == 404
    assert [e.action for e in audit(app, "adjustment.edited")] == ["adjustment.edited"]
    assert client.get(base).status_code == 401


def test_api_void_restore_and_dispute_reason(app, client, cup, token, player_user):
    before = standings(client)
    start = len(events(app))
    url = f"/api/tournaments/ff-cup/matches/{cup['m1']}"
    assert client.post(f"{url}/void/", json={}, headers=bearer(token)).json == {"error": "reason: required"}
    voided = client.post(f"{url}/void/", json={"reason": "Entered twice"}, headers=bearer(token))
    assert voided.status_code == 200 and voided.json["voided"] is True and voided.json["state"] == "completed"
    assert standings(client) != before
    assert client.post(f"{url}/void/", json={"reason": "Entered twice"}, headers=bearer(token)).status_code == 409
    restored = client.post(f"{url}/restore/", json={}, headers=bearer(token))
    assert restored.status_code == 200 and restored.json["voided"] is False
    assert standings(client) == before
    assert events(app)[start:] == ["leaderboard.updated", "leaderboard.updated"]
    assert count(app, Notification) == 0
    state = f"/api/tournaments/ff-cup/matches/{cup['m2']}/state/"
    missing = client.post(state, json={"state": "disputed"}, headers=bearer(token))
    assert missing.status_code == 400 and missing.json["error"].startswith("reason:")
    blank = client.post(state, json={"state": "disputed", "reason": "  "}, headers=bearer(token))
    assert blank.status_code == 400
    assert client.post(state, json={"state": "disputed", "reason": "Kills"}, headers=bearer(token)).status_code == 200


def test_corrections_are_refused_after_completion(app, client, cup, token, staff_user):
    with app.app_context():
        f.adjust(db.session.get(Tournament, cup["id"]), "B", -1)
        db.session.commit()
        aid = db.session.scalar(select(PointAdjustment.id))
        LeaderboardService.complete_tournament("ff-cup", staff_user)
    h = bearer(token)
    assert (
        client.post(
            f"/api/tournaments/ff-cup/matches/{cup['m1']}/void/", json={"reason": "Late fix"}, headers=h
        ).status_code
        == 409
    )
    assert (
        client.patch(f"/api/tournaments/ff-cup/adjustments/{aid}/", json={"points": -2}, headers=h).status_code == 409
    )
    assert (
        client.delete(f"/api/tournaments/ff-cup/adjustments/{aid}/", json={"reason": "x"}, headers=h).status_code == 409
    )
    with app.app_context():
        with pytest.raises(Exception, match="completed"):
            corrections.remove_participant("ff-cup", "C", staff_user)
        db.session.rollback()
        # Renaming still works after completion: the final results show the new name.
        corrections.rename_participant("ff-cup", "A", "Alpha Squad", None, staff_user)
    names = [r["participant_name"] for r in client.get("/api/tournaments/ff-cup/results/").json]
    assert "Alpha Squad" in names


def test_leave_team_confirm_page_for_another_players_team_is_not_found(app, client, auth, cup, player_user):
    with app.app_context():
        other = db.session.scalar(select(User.id).where(User.id != player_user)) or create_user(
            app, "o@example.com", "other password 1"
        )
        reg = Registration(
            tournament_id=cup["id"],
            participant_id=db.session.scalar(select(Participant.id).filter_by(key="B")),
            user_id=other,
        )
        db.session.add(reg)
        db.session.commit()
        theirs = reg.id
        mine = db.session.scalar(select(Registration.id).where(Registration.user_id == player_user))
    auth.login(PLAYER_EMAIL, PLAYER_PASSWORD)
    assert client.get(f"/account/teams/{theirs}/leave").status_code == 404
    page = client.get(f"/account/teams/{mine}/leave")
    assert page.status_code == 200 and "Leave Team A?" in text(page)
    assert 'name="confirmed" value="yes"' in text(page)


# ------------------------------------------------------------------------------ at the same moment


def _at_once(count: int, job) -> list:
    import threading

    barrier = threading.Barrier(count)
    outcomes: list = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            outcomes.append(job(i))
        except Exception as exc:  # collected and asserted by the caller
            outcomes.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_same_idempotency_key_at_the_same_moment_records_one_lobby(app, cup, token):
    def post(_i: int):
        response = app.test_client().post(
            "/api/tournaments/ff-cup/matches/", json=LOBBY, headers={**bearer(token), "Idempotency-Key": "race-1"}
        )
        return response.status_code, response.get_json()

    outcomes = _at_once(6, post)
    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    assert {status for status, _ in outcomes} == {201}
    assert len({body["match_id"] for _, body in outcomes}) == 1
    assert count(app, Match) == 3


def test_staff_opening_the_grid_at_the_same_moment_get_different_keys(app, cup):
    users = [create_user(app, f"s{i}@example.com", STAFF_PASSWORD, staff=True) for i in range(6)]

    def reserve(i: int) -> str:
        with app.app_context():
            try:
                return lobby_keys.reserve_key(db.session.get(Tournament, cup["id"]), users[i])
            finally:
                db.session.remove()

    keys = _at_once(6, reserve)
    assert sorted(keys, key=lambda k: int(k[1:])) == ["m3", "m4", "m5", "m6", "m7", "m8"], keys


def test_a_stage_only_a_voided_lobby_named_is_no_stage(app, client, cup):
    with app.app_context():
        extra = f.lobby(db.session.get(Tournament, cup["id"]), [("C", 1, 0)], stage="Day 9")
        db.session.commit()
        extra_id = extra.id
    assert client.get("/tournaments/ff-cup/?stage=Day%209").status_code == 200
    with app.app_context():
        corrections.void_lobby("ff-cup", extra_id, "Wrong tournament", None)
    assert client.get("/tournaments/ff-cup/?stage=Day%209").status_code == 404
    assert client.get("/tournaments/ff-cup/?stage=Day%201").status_code == 200
