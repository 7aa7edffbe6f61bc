"""The filters a battle-royale page takes: `?stage=NAME` and `?matches=KEY,KEY` (lobby keys) narrow
the counted matches, exactly as in the API and CLI (then point adjustments are left out). An
unknown stage or key is a FilterError naming it (a 404 page); at most MAX_MATCH_KEYS keys. A
stage only a voided lobby named was never played, so it is not offered."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import Match, Tournament

MAX_MATCH_KEYS = 500


class FilterError(Exception):
    """A filter that names nothing in this tournament (shown as a 404 page)."""


@dataclass
class Filters:
    stage: str | None = None
    match_keys: tuple[str, ...] = ()
    match_ids: list[int] | None = None

    @property
    def active(self) -> bool:
        return self.stage is not None or self.match_ids is not None


def stages(tournament_id: int) -> list[str]:
    """The tournament's stages in the order they were first played (or scheduled)."""
    rows = db.session.execute(
        select(Match.stage, func.min(Match.position), func.min(Match.id))
        .where(
            Match.tournament_id == tournament_id,
            Match.stage.is_not(None),
            Match.series_id.is_(None),
            Match.voided_at.is_(None),  # a stage only a voided lobby named was never played
        )
        .group_by(Match.stage)
    ).all()
    return [stage for stage, _position, _id in sorted(rows, key=lambda row: (row[1], row[2], row[0]))]


def parse_match_keys(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    keys = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    if len(keys) > MAX_MATCH_KEYS:
        raise FilterError(f"matches: at most {MAX_MATCH_KEYS} match keys, found {len(keys)}")
    return keys


def resolve_filters(tournament: Tournament, stage: str | None, match_keys: tuple[str, ...]) -> Filters:
    """Check the filters against the tournament; FilterError names the first unknown one."""
    filters = Filters(stage=stage, match_keys=match_keys)
    if stage is not None and stage not in stages(tournament.id):
        raise FilterError(f"There is no stage called “{stage}” in {tournament.name}.")
    if match_keys:
        found = dict(
            db.session.execute(
                select(Match.key, Match.id).where(
                    Match.tournament_id == tournament.id, Match.series_id.is_(None), Match.key.in_(match_keys)
                )
            ).all()
        )
        missing = [key for key in match_keys if key not in found]
        if missing:
            raise FilterError(f"There is no match “{missing[0]}” in {tournament.name}.")
        filters.match_ids = [found[key] for key in match_keys]
    return filters
