"""The tournament list's version: one database row every instance reads.

Rule: any change that alters what the home page lists (a tournament created, deleted, renamed,
moved to another status or date, or a team added to or removed from one) bumps
`site_versions.version` for `tournament_list` in the same transaction. The home page is then
cached like a tournament page: `If-None-Match` with the current version is a 304, otherwise the
body rendered once per version is served. The version lives in the database, not in a
process, so every app instance and worker agrees on it the moment the change commits.

The bump is made by session hooks (registered when this module is imported, which the factory
does) rather than by each service, so a new way of creating or editing tournaments
(registration pages, imports) cannot forget it. A results change alone
(`results_version`) does not alter the list and does not bump it, which keeps the hot path of a
final (posting lobbies) off this one shared row.
"""

from __future__ import annotations

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import TOURNAMENT_LIST, Entry, Participant, SiteVersion, Tournament

LIST = TOURNAMENT_LIST
# An entry confirmed or ended changes a tournament's team count on the list.
_WATCHED = (Tournament, Participant, Entry)
_RESULTS_ONLY = frozenset({"results_version"})


def current() -> int:
    """The list's version (one primary-key lookup)."""
    with db.engine.connect() as connection:
        value = connection.execute(select(SiteVersion.version).where(SiteVersion.name == LIST)).scalar()
    return value or 0


def bump(session: Session) -> None:
    session.connection().execute(
        update(SiteVersion).where(SiteVersion.name == LIST).values(version=SiteVersion.version + 1)
    )


def _alters_list(session: Session) -> bool:
    if any(isinstance(obj, _WATCHED) for obj in (*session.new, *session.deleted)):
        return True
    for obj in session.dirty:
        if isinstance(obj, Tournament) and session.is_modified(obj):
            state = db.inspect(obj)
            changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
            if changed - _RESULTS_ONLY:
                return True
        elif isinstance(obj, Participant) and session.is_modified(obj):
            state = db.inspect(obj)
            if state.attrs.tournament_id.history.has_changes():
                return True
    return False


@event.listens_for(Session, "before_flush")
def _bump_on_flush(session: Session, _context, _instances) -> None:
    if session.info.get("list_version_bumped"):
        return
    if _alters_list(session):
        bump(session)
        session.info["list_version_bumped"] = True


@event.listens_for(Session, "do_orm_execute")
def _bump_on_bulk_statements(state) -> None:
    """Bulk UPDATE/DELETE statements on the watched tables bypass the flush."""
    if not (state.is_update or state.is_delete) or state.session.info.get("list_version_bumped"):
        return
    mapper = state.bind_mapper
    if mapper is None or mapper.class_ not in _WATCHED:
        return
    if state.is_update and mapper.class_ is Tournament:
        columns = {getattr(c, "key", str(c)) for c in getattr(state.statement, "_values", {}) or {}}
        if columns and columns <= _RESULTS_ONLY:
            return
    bump(state.session)
    state.session.info["list_version_bumped"] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_bump(session: Session) -> None:
    session.info.pop("list_version_bumped", None)
