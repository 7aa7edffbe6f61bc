"""The one draft rule (app/visibility.py): a draft is seen by staff only, and the session (or the
API's token) is read only for a draft; every surface asks it."""

from __future__ import annotations

from app.extensions import db
from app.models import Tournament, TournamentStatus
from app.visibility import listed, may_see
from tests import factories as f


def test_may_see_asks_who_the_viewer_is_only_for_a_draft():
    asked = []

    def staff() -> bool:
        asked.append(True)
        return False

    for status in TournamentStatus:
        if status != TournamentStatus.DRAFT:
            assert may_see(status.value, staff)
    assert asked == []
    assert not may_see(TournamentStatus.DRAFT.value, staff)
    assert may_see(TournamentStatus.DRAFT.value, lambda: True)
    assert asked == [True]


def test_listed_hides_drafts_from_all_but_staff(app):
    with app.app_context():
        f.br_tournament("shown-cup")
        f.br_tournament("draft-cup", status="draft")
        db.session.commit()
        public = set(db.session.scalars(db.select(Tournament.slug).where(listed(False))))
        staff = set(db.session.scalars(db.select(Tournament.slug).where(listed(True))))
    assert public == {"shown-cup"}
    assert staff == {"shown-cup", "draft-cup"}


def test_every_surface_answers_a_draft_as_missing_except_to_staff(app, client, auth, staff_user):
    with app.app_context():
        f.br_tournament("draft-cup", status="draft")
        db.session.commit()
    paths = (
        "/tournaments/draft-cup/",  # public page (app.live)
        "/tournaments/draft-cup/register",  # players' registration
        "/api/tournaments/draft-cup/",  # API read
    )
    for path in paths:
        assert client.get(path).status_code == 404, path
    assert "draft-cup" not in client.get("/api/tournaments/").get_data(as_text=True)
    assert "draft-cup" not in client.get("/").get_data(as_text=True)
    auth.login()
    for path in paths:
        assert client.get(path).status_code != 404, path
    assert "draft-cup" in client.get("/api/tournaments/").get_data(as_text=True)
