"""The audit log page and its CSV export: every door (portal, API, CLI) writes, staff read."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from app.extensions import db
from app.models import AuditEvent, Tournament
from app.services import audit
from tests.conftest import STAFF_EMAIL, create_user


def _tournament(app, slug="audit-cup"):
    with app.app_context():
        tournament = Tournament(slug=slug, name=slug.title(), game="freefire", status="live")
        db.session.add(tournament)
        db.session.commit()
        return tournament.id


def _event(app, action, *, actor_id=None, tournament_id=None, when=None, reason=None, before=None, after=None):
    with app.app_context():
        event = audit.record(
            action,
            target_type="test",
            target_id=1,
            actor_id=actor_id,
            tournament_id=tournament_id,
            before=before,
            after=after,
            reason=reason,
        )
        if when is not None:
            event.created_at = when
        db.session.commit()


def _rows(response):
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_api_and_cli_changes_appear_in_the_log(app, client, auth, staff_user, runner):
    from app.services.accounts.tokens import create_token

    tid = _tournament(app)
    with app.app_context():
        from app.models import Participant

        db.session.add_all([Participant(tournament_id=tid, key=k, name=f"Team {k}") for k in ("a", "b")])
        db.session.commit()
        raw = create_token(staff_user)
    response = client.post(
        "/api/tournaments/audit-cup/matches/",
        json={
            "results": [
                {"participant": "a", "placement": 1, "kills": 3},
                {"participant": "b", "placement": 2, "kills": 0},
            ]
        },
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 201, response.get_json()
    assert runner.invoke(args=["users", "token", STAFF_EMAIL]).exit_code == 0

    auth.login()
    html = client.get("/staff/audit").get_data(as_text=True)
    assert "<code>match.recorded</code>" in html and STAFF_EMAIL in html
    assert "<code>token.created</code>" in html and '<td data-label="Actor" class="audit-actor">cli</td>' in html
    per_tournament = client.get("/staff/audit?tournament=audit-cup").get_data(as_text=True)
    assert "<code>match.recorded</code>" in per_tournament and "<code>token.created</code>" not in per_tournament


def test_filters_by_tournament_actor_action_and_dates(app, client, auth, staff_user):
    other = create_user(app, "other@example.com", "other password", staff=True)
    tid = _tournament(app)
    _event(app, "a.one", actor_id=staff_user, tournament_id=tid, when=datetime(2026, 3, 1, 10, tzinfo=UTC))
    _event(app, "a.two", actor_id=other, tournament_id=tid, when=datetime(2026, 3, 2, 23, 59, tzinfo=UTC))
    _event(app, "a.one", actor_id=None, when=datetime(2026, 3, 3, 0, 0, tzinfo=UTC))
    auth.login()

    def actions(query):
        rows = _rows(client.get("/staff/audit.csv" + query))
        return [row[3] for row in rows[1:]]

    assert actions("") == ["a.one", "a.two", "a.one"]
    assert actions("?tournament=audit-cup") == ["a.one", "a.two"]
    assert actions("?actor=OTHER@example.com") == ["a.two"]
    assert actions("?actor=cli") == ["a.one"]
    assert actions("?action=a.one") == ["a.one", "a.one"]
    assert actions("?from=2026-03-02&to=2026-03-02") == ["a.two"]  # "to" is inclusive
    assert actions("?from=2026-03-02") == ["a.two", "a.one"]
    assert actions("?to=2026-03-01&action=a.one") == ["a.one"]
    page = client.get("/staff/audit?action=a.two").get_data(as_text=True)
    assert "1 event" in page and "a.two" in page


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("?from=yesterday", 400, "from: expected a date as YYYY-MM-DD"),
        ("?to=2026-02-30", 400, "to: expected a date"),
        ("?from=2026-03-02&to=2026-03-01", 400, "from: must not be after to"),
        ("?tournament=nope", 404, "no tournament with slug"),
        ("?actor=ghost@example.com", 404, "no user with email"),
        ("?page=0", 400, "page: expected a page number"),
        ("?page=abc", 400, "page: expected a page number"),
        ("?page=%EF%BC%91", 400, "page: expected a page number"),
        ("?action=" + "a" * 300, 400, "action: not a usable value"),
    ],
)
def test_bad_filters_are_4xx_with_a_message(client, auth, staff_user, query, status, message):
    auth.login()
    paths = ("/staff/audit",) if query.startswith("?page") else ("/staff/audit", "/staff/audit.csv")
    for path in paths:  # the CSV has every matching event, so no pages
        response = client.get(path + query)
        assert response.status_code == status, (path, query)
        assert message in response.get_data(as_text=True)


def test_pagination_newest_first(app, client, auth, staff_user):
    for i in range(audit.PER_PAGE + 5):
        _event(app, f"bulk.{i:03d}", when=datetime(2026, 1, 1, tzinfo=UTC).replace(minute=i % 60, hour=i // 60))
    auth.login()
    first = client.get("/staff/audit").get_data(as_text=True)
    newest, oldest = f"<code>bulk.{audit.PER_PAGE + 4:03d}</code>", "<code>bulk.000</code>"
    assert newest in first and oldest not in first
    assert "Page 1 of 2" in first and 'rel="next"' in first
    second = client.get("/staff/audit?page=2").get_data(as_text=True)
    assert oldest in second and newest not in second
    past_the_end = client.get("/staff/audit?page=9")
    assert past_the_end.status_code == 200 and "Page 2 of 2" in past_the_end.get_data(as_text=True)


@pytest.mark.parametrize("evil", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\r=1"])
def test_csv_cells_cannot_become_formulas(app, client, auth, staff_user, evil):
    _event(app, "note.added", reason=evil, after={"note": evil})
    auth.login()
    response = client.get("/staff/audit.csv")
    assert "attachment" in response.headers["Content-Disposition"]
    header, row = _rows(response)
    assert header == list(audit.CSV_COLUMNS)
    reason = row[header.index("reason")]
    assert reason == "'" + evil
    for cell in row:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_csv_keeps_before_after_and_reason(app, client, auth, staff_user):
    tid = _tournament(app)
    _event(
        app,
        "placement.override",
        actor_id=staff_user,
        tournament_id=tid,
        before={"rank": 3},
        after={"rank": 1},
        reason="Appeal upheld after review",
    )
    auth.login()
    header, row = _rows(client.get("/staff/audit.csv?tournament=audit-cup"))
    record = dict(zip(header, row, strict=True))
    assert record["actor"] == STAFF_EMAIL
    assert record["tournament"] == "audit-cup"
    assert record["before"] == '{"rank": 3}' and record["after"] == '{"rank": 1}'
    assert record["reason"] == "Appeal upheld after review"
    assert record["time"].startswith(datetime.now(UTC).strftime("%Y-%m-%d"))


def test_csv_streams_long_logs_in_batches(app):
    for i in range(7):
        _event(app, f"e.{i}")
    with app.test_request_context():
        chunks = list(audit.csv_lines(audit.AuditFilter(), batch=3))
    assert len(chunks) == 3
    assert sum(chunk.count("\n") for chunk in chunks) == 8


def test_audit_needs_staff(client, auth, player_user):
    assert client.get("/staff/audit").status_code == 302
    auth.login("player@example.com", "player password 123")
    assert client.get("/staff/audit.csv").status_code == 403


def test_events_are_in_the_change_transaction(app, staff_user):
    """A failing change leaves no event: record() only adds to the session."""
    with app.app_context():
        audit.record("x.y", target_type="t", target_id=1, actor_id=staff_user)
        db.session.rollback()
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == 0


def test_page_shows_each_changed_field_the_reason_and_expandable_details(app, client, auth, staff_user):
    with app.app_context():
        audit.record(
            "placement.override",
            target_type="tournament_result",
            target_id=7,
            actor_id=staff_user,
            before={"rank": 4, "is_override": False, "points": 20},
            after={"rank": 1, "is_override": True, "points": 20},
            reason="Opponent used an unregistered player",
        )
        db.session.commit()
    auth.login()
    html = client.get("/staff/audit").get_data(as_text=True)
    assert '<span class="diff__field">rank</span>: <del>4</del>' in html and "<ins>1</ins>" in html
    assert '<span class="diff__field">is_override</span>: <del>false</del>' in html
    assert '<span class="diff__field">points</span>' not in html  # unchanged fields stay out of the summary
    assert '<td data-label="Reason" class="audit-reason">Opponent used an unregistered player</td>' in html
    assert '<details class="audit-details">' in html and "&#34;points&#34;: 20" in html
    assert "css/staff.css" in html  # the portal's styles on every staff page, from base.html


def test_field_changes_lists_only_what_differs_in_recorded_order():
    assert audit.field_changes({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": None}) == [
        {"field": "b", "before": "2", "after": "3"},
        {"field": "c", "before": "—", "after": "—"},
    ]
    assert audit.field_changes(None, {"name": "Cup"}) == [{"field": "name", "before": "—", "after": "Cup"}]
    assert audit.field_changes({"x": 1}, {"x": 1}) == []
    long = audit.field_changes({"n": "x" * 200}, {})[0]["before"]
    assert len(long) == audit.DIFF_VALUE_CHARS and long.endswith("…")
