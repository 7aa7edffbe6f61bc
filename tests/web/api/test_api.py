"""The JSON API of contract §4: reads, staff writes, the auth matrix, and errors as JSON."""

from __future__ import annotations

import re
import threading

import pytest

from app.extensions import db
from app.models import AuditEvent, Match, MatchResult, TournamentResult
from app.services.accounts.tokens import create_token
from app.services.standings.leaderboard import LeaderboardService as LS
from tests import factories as f
from tests.conftest import PLAYER_EMAIL, PLAYER_PASSWORD, create_user, csrf_token_from


@pytest.fixture
def br(app):
    with app.app_context():
        t = f.br_tournament("ff-cup", preset="ffws")
        m1 = f.lobby(t, [("A", 1, 5), ("B", 2, 4), ("C", 3, 3), ("D", 4, 2)], stage="Day 1")
        m2 = f.lobby(t, [("B", 1, 0), ("A", 2, 0), ("D", 3, 9), ("C", 4, 0)], stage="Day 2")
        f.adjust(t, "D", -2)
        db.session.commit()
        return {"id": t.id, "m1": m1.id, "m2": m2.id}


@pytest.fixture
def completed(app, br):
    with app.app_context():
        LS.complete_tournament(br["id"])
    return br


@pytest.fixture
def staff_token(app, staff_user):
    with app.app_context():
        return create_token(staff_user)


@pytest.fixture
def player_token(app, player_user):
    with app.app_context():
        return create_token(player_user)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


OVERRIDE = {"participant_id": "C", "new_rank": 1, "reason": "Opponent fielded an unregistered player"}


# ------------------------------------------------------------------------------ reads


def test_leaderboard_by_id_and_slug(client, br):
    by_id = client.get(f"/api/tournaments/{br['id']}/leaderboard/")
    by_slug = client.get("/api/tournaments/ff-cup/leaderboard/")
    assert by_id.status_code == by_slug.status_code == 200
    assert by_id.get_json() == by_slug.get_json()
    rows = by_id.get_json()
    assert [r["participant_id"] for r in rows] == ["A", "B", "D", "C"]
    assert rows[2]["adjustment_points"] == -2
    assert by_id.headers["Content-Type"] == "application/json"


def test_leaderboard_filters(client, br):
    rows = client.get(f"/api/tournaments/ff-cup/leaderboard/?match_ids={br['m2']}").get_json()
    assert [r["participant_id"] for r in rows] == ["D", "B", "A", "C"]
    assert all(r["adjustment_points"] == 0 for r in rows)
    staged = client.get("/api/tournaments/ff-cup/leaderboard/?stage=Day%201").get_json()
    assert [r["matches_played"] for r in staged] == [1, 1, 1, 1]


@pytest.mark.parametrize("ids", ["abc", "1,,2", "", ",", "1;2", "-1", "1.5", "99999999"])
def test_leaderboard_bad_match_ids(client, br, ids):
    response = client.get(f"/api/tournaments/ff-cup/leaderboard/?match_ids={ids}")
    assert response.status_code == 400
    assert "match_ids" in response.get_json()["error"]


def test_leaderboard_non_br_and_unknown(app, client):
    with app.app_context():
        f.series_tournament("val")
        db.session.commit()
    response = client.get("/api/tournaments/val/leaderboard/")
    assert response.status_code == 400 and "not battle royale" in response.get_json()["error"]
    missing = client.get("/api/tournaments/nope/leaderboard/")
    assert missing.status_code == 404 and "error" in missing.get_json()


def test_leaderboard_etag_changes_with_results(client, br, staff_token):
    first = client.get("/api/tournaments/ff-cup/leaderboard/")
    etag = first.headers["ETag"]
    assert client.get("/api/tournaments/ff-cup/leaderboard/", headers={"If-None-Match": etag}).status_code == 304
    entry = {"state": "completed", "results": [{"participant": "C", "placement": 1, "kills": 1}]}
    assert client.post("/api/tournaments/ff-cup/matches/", json=entry, headers=bearer(staff_token)).status_code == 201
    again = client.get("/api/tournaments/ff-cup/leaderboard/", headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag


def test_series_endpoint(app, client):
    with app.app_context():
        t = f.series_tournament("val")
        s = f.series(t, "sf", "A", "B", 3)
        g1 = f.game(s, "A", (13, 5))
        f.game(s, "A", (13, 7))
        br_t = f.br_tournament("br")
        lone = f.lobby(br_t, [("A", 1, 0)])
        db.session.commit()
        ids = (t.id, g1.id, lone.id)
    body = client.get(f"/api/tournaments/{ids[0]}/series/{ids[1]}/").get_json()
    assert (body["status"], body["series_winner_id"], body["series_score"]) == ("completed", "A", {"A": 2, "B": 0})
    assert client.get(f"/api/tournaments/val/series/{ids[2]}/").status_code == 404  # another tournament's match
    assert client.get(f"/api/tournaments/br/series/{ids[2]}/").status_code == 400  # not a series game
    assert client.get("/api/tournaments/val/series/123456/").status_code == 404
    not_int = client.get("/api/tournaments/val/series/abc/")
    assert not_int.status_code == 404 and "error" in not_int.get_json()


def test_results_only_after_completion(client, br, app):
    assert client.get("/api/tournaments/ff-cup/results/").status_code == 409
    with app.app_context():
        LS.complete_tournament(br["id"])
    rows = client.get("/api/tournaments/ff-cup/results/").get_json()
    assert [(r["participant_id"], r["rank"], r["is_override"], r["override_reason"]) for r in rows][:2] == [
        ("A", 1, False, None),
        ("B", 2, False, None),
    ]
    assert {"total_kills", "best_placement", "avg_placement", "matches_played"} <= set(rows[0])


# --------------------------------------------------------------------- auth matrix


def test_override_anonymous_is_401(client, completed):
    response = client.post("/api/tournaments/ff-cup/override-placement/", json=OVERRIDE)
    assert response.status_code == 401
    assert response.get_json() == {"error": "authentication required"}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer dc_wrong", "Basic abc", "Bearer "])
def test_override_bad_token_is_401(client, completed, header):
    response = client.post(
        "/api/tournaments/ff-cup/override-placement/", json=OVERRIDE, headers={"Authorization": header}
    )
    assert response.status_code == 401


def test_override_non_staff_is_403(client, completed, player_token, auth):
    assert (
        client.post(
            "/api/tournaments/ff-cup/override-placement/", json=OVERRIDE, headers=bearer(player_token)
        ).status_code
        == 403
    )
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    auth.login(PLAYER_EMAIL, PLAYER_PASSWORD)
    response = client.post("/api/tournaments/ff-cup/override-placement/", json=OVERRIDE, headers={"X-CSRFToken": token})
    assert response.status_code == 403


def test_override_staff_bearer_is_200(app, client, completed, staff_token, staff_user):
    response = client.post("/api/tournaments/ff-cup/override-placement/", json=OVERRIDE, headers=bearer(staff_token))
    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True
    assert (body["participant_id"], body["old_rank"], body["new_rank"]) == ("C", 4, 1)
    assert body["override_actor_id"] == staff_user
    assert body["override_reason"] == OVERRIDE["reason"]
    rows = client.get("/api/tournaments/ff-cup/results/").get_json()
    assert [(r["participant_id"], r["rank"]) for r in rows] == [("C", 1), ("A", 2), ("B", 3), ("D", 4)]


def test_override_staff_session_needs_csrf(client, completed, staff_user, auth):
    auth.login()
    without = client.post("/api/tournaments/ff-cup/override-placement/", json=OVERRIDE)
    assert without.status_code == 400 and "CSRF" in without.get_json()["error"]
    ok = client.post(
        "/api/tournaments/ff-cup/override-placement/", json=OVERRIDE, headers={"X-CSRFToken": auth.csrf_token()}
    )
    assert ok.status_code == 200


def test_bad_token_wins_over_session(client, completed, staff_user, auth):
    auth.login()
    response = client.post(
        "/api/tournaments/ff-cup/override-placement/",
        json=OVERRIDE,
        headers={"Authorization": "Bearer dc_forged", "X-CSRFToken": auth.csrf_token()},
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({**OVERRIDE, "new_rank": 0}, 400, "new_rank"),
        ({**OVERRIDE, "new_rank": 5}, 400, "between 1 and 4"),
        ({**OVERRIDE, "new_rank": "1"}, 400, "new_rank"),
        ({**OVERRIDE, "new_rank": None}, 400, "new_rank"),
        ({k: v for k, v in OVERRIDE.items() if k != "new_rank"}, 400, "new_rank"),
        ({**OVERRIDE, "reason": "short"}, 400, "10 characters"),
        ({k: v for k, v in OVERRIDE.items() if k != "reason"}, 400, "reason"),
        ({**OVERRIDE, "participant_id": "ZZ"}, 404, "ZZ"),
        ({**OVERRIDE, "participant_id": 7}, 400, "participant_id"),
        ([1, 2], 400, "JSON object"),
    ],
)
def test_override_bad_input(app, client, completed, staff_token, body, status, needle):
    response = client.post("/api/tournaments/ff-cup/override-placement/", json=body, headers=bearer(staff_token))
    assert response.status_code == status
    assert needle in response.get_json()["error"]
    with app.app_context():
        assert not db.session.scalar(
            db.select(db.func.count()).select_from(TournamentResult).filter_by(is_override=True)
        )


def test_override_invalid_json_and_unknown_tournament(client, completed, staff_token):
    response = client.post(
        "/api/tournaments/ff-cup/override-placement/",
        data="{not json",
        headers={**bearer(staff_token), "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and "JSON" in response.get_json()["error"]
    assert (
        client.post("/api/tournaments/nope/override-placement/", json=OVERRIDE, headers=bearer(staff_token)).status_code
        == 404
    )


def test_override_before_completion_is_409(client, br, staff_token):
    response = client.post("/api/tournaments/ff-cup/override-placement/", json=OVERRIDE, headers=bearer(staff_token))
    assert response.status_code == 409


def test_clear_override_via_api(client, completed, staff_token):
    client.post("/api/tournaments/ff-cup/override-placement/", json=OVERRIDE, headers=bearer(staff_token))
    response = client.delete(
        "/api/tournaments/ff-cup/override-placement/",
        json={"participant_id": "C", "reason": "Appeal upheld after review"},
        headers=bearer(staff_token),
    )
    assert response.status_code == 200 and response.get_json()["new_rank"] == 4
    again = client.delete(
        "/api/tournaments/ff-cup/override-placement/",
        json={"participant_id": "C", "reason": "Appeal upheld after review"},
        headers=bearer(staff_token),
    )
    assert again.status_code == 409


def test_concurrent_overrides_never_duplicate_ranks(app, completed, staff_user):
    """Many staff pinning at once: every request is applied one after another, never
    interleaved, so the published ranks stay a clean ranking with one pin per rank."""
    errors = []
    barrier = threading.Barrier(8)

    def pin(team, rank):
        with app.app_context():
            try:
                barrier.wait()
                LS.override_placement(completed["id"], team, rank, f"Concurrent correction {team}{rank}", staff_user)
            except Exception as exc:  # collected and asserted below
                errors.append(exc)
            finally:
                db.session.remove()

    jobs = [("A", 4), ("B", 3), ("C", 2), ("D", 1), ("A", 1), ("B", 2), ("C", 3), ("D", 4)]
    threads = [threading.Thread(target=pin, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        rows = LS.results(completed["id"])
        pinned = [r["rank"] for r in rows if r["is_override"]]
        assert len(pinned) == len(set(pinned))
        assert sorted(r["rank"] for r in rows) == [1, 2, 3, 4]
        assert (
            db.session.scalar(db.select(db.func.count()).select_from(AuditEvent).filter_by(action="placement.override"))
            == 8
        )


# ------------------------------------------------------------------------ match entry


def test_record_match_changes_standings_at_once(app, client, br, staff_token):
    entry = {
        "stage": "Day 2",
        "completed_at": "2025-11-14T16:00:00Z",
        "results": [
            {"participant": "C", "placement": 1, "kills": 20},
            {"participant": "A", "placement": 2, "kills": 0},
        ],
    }
    response = client.post("/api/tournaments/ff-cup/matches/", json=entry, headers=bearer(staff_token))
    assert response.status_code == 201
    body = response.get_json()
    assert body["key"] == "m3" and isinstance(body["match_id"], int)
    rows = client.get("/api/tournaments/ff-cup/leaderboard/").get_json()
    assert rows[0]["participant_id"] == "C"
    with app.app_context():
        assert db.session.get(Match, body["match_id"]).state == "completed"
    keyed = client.post(
        "/api/tournaments/ff-cup/matches/", json={**entry, "key": "final-1"}, headers=bearer(staff_token)
    )
    assert keyed.get_json()["key"] == "final-1"
    dup = client.post("/api/tournaments/ff-cup/matches/", json={**entry, "key": "final-1"}, headers=bearer(staff_token))
    # The same lobby saved twice is a conflict with the first (issue 11), which the answer names.
    assert dup.status_code == 409 and "lobby final-1 is already saved" in dup.get_json()["error"]


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ({"results": [{"participant": "A", "placement": 0, "kills": 1}]}, "match.results[0].placement"),
        ({"results": [{"participant": "A", "placement": 1, "kills": -1}]}, "match.results[0].kills"),
        ({"results": [{"participant": "ZZ", "placement": 1, "kills": 1}]}, "match.results[0].participant"),
        (
            {
                "results": [
                    {"participant": "A", "placement": 1, "kills": 1},
                    {"participant": "A", "placement": 2, "kills": 1},
                ]
            },
            "match.results[1]",
        ),
        (
            {
                "results": [
                    {"participant": "A", "placement": 1, "kills": 1},
                    {"participant": "B", "placement": 1, "kills": 1},
                ]
            },
            "match.results[1].placement",
        ),
        ({"state": "finished", "results": []}, "match.state"),
        ({"results": "lots"}, "match.results"),
        ({"completed_at": "yesterday", "results": []}, "match.completed_at"),
    ],
)
def test_record_match_bad_input_changes_nothing(app, client, br, staff_token, entry, needle):
    response = client.post("/api/tournaments/ff-cup/matches/", json=entry, headers=bearer(staff_token))
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"].startswith(needle)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Match.id))) == 2
        assert db.session.scalar(db.select(db.func.count(MatchResult.id))) == 8


def test_record_match_refusals(app, client, completed, staff_token, player_token):
    entry = {"results": [{"participant": "A", "placement": 1, "kills": 1}]}
    assert client.post("/api/tournaments/ff-cup/matches/", json=entry).status_code == 401
    assert client.post("/api/tournaments/ff-cup/matches/", json=entry, headers=bearer(player_token)).status_code == 403
    assert client.post("/api/tournaments/ff-cup/matches/", json=entry, headers=bearer(staff_token)).status_code == 409
    with app.app_context():
        f.series_tournament("val")
        db.session.commit()
    assert client.post("/api/tournaments/val/matches/", json=entry, headers=bearer(staff_token)).status_code == 400


def test_match_state_transitions(app, client, br, staff_token):
    url = f"/api/tournaments/ff-cup/matches/{br['m2']}/state/"
    disputed = client.post(url, json={"state": "disputed", "reason": "Lobby crash"}, headers=bearer(staff_token))
    assert disputed.status_code == 200 and disputed.get_json()["state"] == "disputed"
    rows = client.get("/api/tournaments/ff-cup/leaderboard/").get_json()
    assert all(r["matches_played"] == 1 for r in rows)  # the disputed lobby stopped counting
    assert client.post(url, json={"state": "live"}, headers=bearer(staff_token)).status_code == 409
    assert client.post(url, json={"state": "bogus"}, headers=bearer(staff_token)).status_code == 400
    assert client.post(url, json={"state": "completed"}, headers=bearer(staff_token)).status_code == 200
    with app.app_context():
        actions = db.session.scalars(db.select(AuditEvent.action).filter_by(target_type="match")).all()
        assert actions == ["match.state_changed", "match.state_changed"]


def test_complete_via_api(client, br, staff_token, player_token):
    assert client.post("/api/tournaments/ff-cup/complete/", headers=bearer(player_token)).status_code == 403
    response = client.post("/api/tournaments/ff-cup/complete/", headers=bearer(staff_token))
    assert response.status_code == 200 and response.get_json()["status"] == "completed"
    assert client.post("/api/tournaments/ff-cup/complete/", headers=bearer(staff_token)).status_code == 409


# ------------------------------------------------------------------------ plumbing


def test_unknown_api_path_and_method_answer_json(client, br):
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404 and "error" in missing.get_json()
    wrong = client.put("/api/tournaments/ff-cup/leaderboard/")
    assert wrong.status_code == 405 and "error" in wrong.get_json()


def test_openapi_covers_every_api_route(app, client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, operations in doc["paths"].items() for method in operations}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule == "/api/openapi.json":
            continue
        path = re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)


def test_inactive_user_token_is_refused(app, client, completed):
    user_id = create_user(app, "gone@example.com", "password123", staff=True)
    with app.app_context():
        token = create_token(user_id)
        from app.models import User

        db.session.get(User, user_id).active = False
        db.session.commit()
    response = client.post("/api/tournaments/ff-cup/override-placement/", json=OVERRIDE, headers=bearer(token))
    assert response.status_code == 401


@pytest.mark.parametrize(
    "url", ["/api/tournaments/ff%00cup/leaderboard/", "/api/tournaments/ff-cup/leaderboard/?stage=Day%00"]
)
def test_nul_bytes_in_address_are_400(client, br, url):
    response = client.get(url)
    assert response.status_code == 400 and "NUL" in response.get_json()["error"]


def test_nul_bytes_in_body_are_400(client, br, staff_token):
    entry = {"stage": "Day\u0000", "results": [{"participant": "A", "placement": 1, "kills": 1}]}
    response = client.post("/api/tournaments/ff-cup/matches/", json=entry, headers=bearer(staff_token))
    assert response.status_code == 400 and "NUL" in response.get_json()["error"]


def test_html_pages_get_the_site_error_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "text/html" in response.headers["Content-Type"]
    assert "Not found" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    [
        "/api/tournaments/%C2%B2/",
        "/api/tournaments/1%C2%B2/leaderboard/",
        "/api/tournaments/9223372036854775808/",
        "/api/tournaments/2147483648/results/",
        "/api/tournaments/ff-cup/series/99999999999999999999/",
        "/api/tournaments/ff-cup/series/2147483648/",
    ],
)
def test_odd_ids_in_paths_are_404(client, br, url):
    response = client.get(url)
    assert response.status_code == 404 and "error" in response.get_json()


@pytest.mark.parametrize("ids", ["%C2%B2", "1,%C2%B2", "2147483648", "999999999999999999"])
def test_odd_match_ids_are_400(client, br, ids):
    response = client.get(f"/api/tournaments/ff-cup/leaderboard/?match_ids={ids}")
    assert response.status_code == 400 and "match_ids" in response.get_json()["error"]


def test_state_change_of_huge_match_id_is_404(client, br, staff_token):
    url = "/api/tournaments/ff-cup/matches/99999999999999999999/state/"
    assert client.post(url, json={"state": "live"}, headers=bearer(staff_token)).status_code == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("override-placement/", r'{"participant_id": "C", "new_rank": 1, "reason": "valid reason \udc80 here"}'),
        ("matches/", r'{"key": "lone\udc80", "results": [{"participant": "A", "placement": 1, "kills": 3}]}'),
        ("matches/", r'{"stage": "st\ud800", "results": [{"participant": "A", "placement": 1, "kills": 3}]}'),
        ("matches/", "[" * 100000 + "]" * 100000),
        ("matches/", '{"a":' * 5000 + "1" + "}" * 5000),
    ],
)
def test_unstorable_or_deep_bodies_are_400(app, client, br, staff_token, path, body):
    if path.startswith("override"):
        with app.app_context():
            LS.complete_tournament(br["id"])
    response = client.post(
        f"/api/tournaments/ff-cup/{path}",
        data=body,
        headers={**bearer(staff_token), "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"].startswith("body:")


def test_long_reasons_and_big_bodies_are_refused(client, completed, staff_token):
    long_reason = {**OVERRIDE, "reason": "x" * 501}
    response = client.post("/api/tournaments/ff-cup/override-placement/", json=long_reason, headers=bearer(staff_token))
    assert response.status_code == 400 and "at most 500" in response.get_json()["error"]
    huge = client.post(
        "/api/tournaments/ff-cup/matches/",
        data="{" + " " * (2 * 1024 * 1024) + "}",
        headers={**bearer(staff_token), "Content-Type": "application/json"},
    )
    assert huge.status_code == 413 and "error" in huge.get_json()


def test_non_staff_session_without_csrf_is_403_not_400(client, completed, player_user, auth):
    auth.login(PLAYER_EMAIL, PLAYER_PASSWORD)
    response = client.post("/api/tournaments/ff-cup/override-placement/", json=OVERRIDE)
    assert response.status_code == 403
