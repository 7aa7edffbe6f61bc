"""Battle-royale lobby entry as staff do it during a live event: a row per team, checked while
typing, a pasted CSV or JSON lobby, and corrections of a saved lobby.

Rules:
- A row is a team's placement and kills. A row left empty means the team did not play; empty
  kills next to a placement count as 0 kills.
- Placements are whole numbers 1..100, distinct within the lobby; kills are whole numbers
  0..1000; every team is one of the tournament's teams (in the event: roster_visibility; a
  correction also keeps the lobby's own teams), at most once per lobby. (The file's rules:
  `tournament_file.validate_match_entry` has the last word, for the portal and the API alike.)
- The points a row gives = placement points + kills x kill points of the tournament's ruleset.
- A new lobby is recorded by `states.record_br_match`, the service behind the API's
  `POST /api/tournaments/<id>/matches/`.
- Staff moving a match to disputed give a reason (what is contested, by whom): the portal's
  and the API's door to `states.change_match_state` (`move_match`) refuses a dispute without one.
- A correction replaces the lobby's results only if the lobby is still at the version the
  editor read (`Match.version`, bumped by corrections and state changes): of two staff
  changing one lobby, the later save is refused
  with the current results instead of silently overwriting the first. Corrections are refused
  after completion (results are frozen) and audited with the results before and after.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, or_, select

from app import signals
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.models import Match, MatchResult, MatchState, Participant, Tournament, TournamentStatus, is_db_id
from app.scoring import Ruleset, tournament_ruleset
from app.services import audit
from app.services.inputs import pasted
from app.services.inputs.numbers import parse_whole, too_long
from app.services.inputs.text import check_name, storable
from app.services.registration.roster_visibility import event_participants, is_visible
from app.services.results.locks import lock_tournament
from app.services.tournaments import states
from app.services.tournaments.file import (
    MAX_KILLS,
    MAX_PLACEMENT,
    MAX_REASON,
    MAX_STAGE,
    parse_json,
    validate_match_entry,
)
from app.services.tournaments.lookup import get_tournament
from app.timestamps import iso_z

ENTRY_STATES = (MatchState.COMPLETED.value, MatchState.LIVE.value, MatchState.SCHEDULED.value)
MAX_PASTE_LINES = 200
MAX_PASTE_CHARS = 100_000  # a pasted lobby (CSV or JSON) as text


@dataclass
class RowCheck:
    participant: str
    name: str
    placement_text: str = ""
    kills_text: str = ""
    placement: int | None = None
    kills: int | None = None
    points: int | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def entered(self) -> bool:
        return bool(self.placement_text or self.kills_text)


@dataclass
class LobbyCheck:
    rows: list[RowCheck]
    errors: list[str] = field(default_factory=list)

    @property
    def entered(self) -> list[RowCheck]:
        return [r for r in self.rows if r.entered]

    @property
    def ok(self) -> bool:
        return not self.errors and not any(r.errors for r in self.rows)

    @property
    def error_count(self) -> int:
        return len(self.errors) + sum(len(r.errors) for r in self.rows)

    def results(self) -> list[dict[str, Any]]:
        return [
            {"participant": r.participant, "placement": r.placement, "kills": r.kills or 0}
            for r in sorted(self.entered, key=lambda r: r.placement or 0)
        ]


def _whole(text: str, what: str, low: int, high: int) -> tuple[int | None, str | None]:
    text = text.strip()
    if too_long(text, max_digits=6):
        return None, f"{what}: at most {high}"
    value = parse_whole(text, max_digits=6, signed=True)
    if value is None:
        return None, f"{what}: a whole number, not {text[:12]!r}"
    if value < low:
        return None, f"{what}: cannot be negative" if low == 0 else f"{what}: at least {low}"
    if value > high:
        return None, f"{what}: at most {high}"
    return value, None


def team_names(tournament: Tournament, keep: Collection[str] = ()) -> dict[str, str]:
    """{key: name} of the teams a lobby may hold: the teams in the event (roster_visibility), plus
    `keep` (a saved lobby's teams, so correcting a lobby never drops a team that has since left
    the event without staff seeing it)."""
    return dict(
        db.session.execute(
            select(Participant.key, Participant.name).where(
                Participant.tournament_id == tournament.id,
                or_(is_visible(Participant.id, tournament.id), Participant.key.in_(list(keep))),
            )
        ).all()
    )


def check_lobby(tournament: Tournament, rows: list[dict[str, Any]], keep: Collection[str] = ()) -> LobbyCheck:
    """Check typed rows ({participant, placement, kills} as text) and give each its points.

    Nothing is stored; the same rows saved get the same verdict from the saving service.
    `keep`: teams of the saved lobby being corrected (see `team_names`).
    """
    ruleset = tournament_ruleset(tournament)
    names = team_names(tournament, keep)
    checked: list[RowCheck] = []
    seen_team: dict[str, RowCheck] = {}
    for raw in rows:
        key = raw.get("participant") if isinstance(raw.get("participant"), str) else ""
        row = RowCheck(
            participant=key,
            name=names.get(key, key),
            placement_text=_text(raw.get("placement")),
            kills_text=_text(raw.get("kills")),
        )
        checked.append(row)
        if not row.entered:
            continue
        if key not in names:
            row.errors.append(f"unknown team {key[:40]!r}: not one of this tournament's teams")
        elif key in seen_team:
            row.errors.append(f"{row.name} is entered twice")
        seen_team.setdefault(key, row)
        if not row.placement_text:
            row.errors.append("placement: required when kills are entered")
        else:
            row.placement, error = _whole(row.placement_text, "placement", 1, MAX_PLACEMENT)
            if error:
                row.errors.append(error)
        if row.kills_text:
            row.kills, error = _whole(row.kills_text, "kills", 0, MAX_KILLS)
            if error:
                row.errors.append(error)
        else:
            row.kills = 0
    by_placement: dict[int, list[RowCheck]] = {}
    for row in checked:
        if row.placement is not None:
            by_placement.setdefault(row.placement, []).append(row)
    for placement, same in by_placement.items():
        if len(same) > 1:
            for row in same:
                others = ", ".join(o.name for o in same if o is not row)
                row.errors.append(f"placement {placement} is also given to {others}")
    for row in checked:
        if not row.errors and row.placement is not None and row.kills is not None:
            row.points = ruleset.lobby_points(row.placement, row.kills)
    return LobbyCheck(rows=checked)


def _text(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return text[:40] if storable(text) else ""


def _check_stage(stage: Any) -> str | None:
    if stage is None or (isinstance(stage, str) and not stage.strip()):
        return None
    if not isinstance(stage, str) or len(stage.strip()) > MAX_STAGE or not storable(stage):
        raise ValidationError(f"stage: at most {MAX_STAGE} characters of text")
    check_name(stage, "stage")  # as sent: strip() would drop a trailing U+0085 or U+2028
    return stage.strip()


def record_lobby(
    ref: int | str, stage: Any, state: Any, rows: list[dict[str, Any]], actor_id: int | None, key: Any = None
):
    """Check the rows, then record the lobby through the API's own service, under `key` (the
    grid's reserved key, see services.lobby_keys; empty: the next free one). Returns (match,
    check); on bad rows the match is None and nothing is stored. A key already saved is refused
    with `states.DuplicateLobby`."""
    tournament = get_tournament(ref)
    stage = _check_stage(stage)
    if state not in ENTRY_STATES:
        raise ValidationError(f"state: one of {', '.join(ENTRY_STATES)}")
    check = check_lobby(tournament, rows)
    if check.ok and state != MatchState.SCHEDULED.value and not check.entered:
        check.errors.append("enter at least one team's placement")
    if not check.ok:
        return None, check
    entry: dict[str, Any] = {"stage": stage, "state": state, "results": check.results()}
    if isinstance(key, str) and key.strip():
        entry["key"] = key.strip()
    match = states.record_br_match(tournament.id, entry, actor_id)
    return match, check


def lobby_for(tournament: Tournament, match_id: int) -> Match:
    match = db.session.get(Match, match_id, populate_existing=True) if is_db_id(match_id) else None
    if match is None or match.tournament_id != tournament.id or match.series_id is not None:
        raise NotFound(f"no lobby {match_id} in {tournament.slug}")
    return match


def saved_rows(match: Match) -> dict[str, tuple[int, int]]:
    """{participant key: (placement, kills)} of a saved lobby."""
    rows = db.session.execute(
        select(Participant.key, MatchResult.placement, MatchResult.kills)
        .join(Participant, Participant.id == MatchResult.participant_id)
        .where(MatchResult.match_id == match.id)
        .order_by(MatchResult.placement)
    ).all()
    return {key: (placement, kills) for key, placement, kills in rows}


class StaleLobby(Conflict):
    """The lobby changed since the editor read it; `current` is what is saved now."""

    def __init__(self, message: str, match: Match):
        super().__init__(message)
        self.match = match


def correct_lobby(
    ref: int | str,
    match_id: int,
    stage: Any,
    rows: list[dict[str, Any]],
    expected_version: Any,
    actor_id: int | None,
    reason: Any = None,
):
    """Replace a saved lobby's results (see the module docstring). Returns (match, check).
    `reason` (optional, why it was wrong) goes to the audit log and, for a lobby that counts, to
    the correction notice of the teams whose line changed."""
    tournament = get_tournament(ref)
    stage = _check_stage(stage)
    if reason is not None and not isinstance(reason, str):
        raise ValidationError("reason: must be text")
    reason = (reason or "").strip() or None
    if reason is not None and (len(reason) > MAX_REASON or not storable(reason)):
        raise ValidationError(f"reason: at most {MAX_REASON} characters of text")
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise ValidationError("version: missing; reload the lobby and enter the correction again")
    keep = list(saved_rows(lobby_for(tournament, match_id)))
    check = check_lobby(tournament, rows, keep)
    if check.ok and not check.entered:
        check.errors.append("enter at least one team's placement")
    if not check.ok:
        return None, check
    lock_tournament(tournament)
    match = lobby_for(tournament, match_id)
    if tournament.status == TournamentStatus.COMPLETED.value:
        raise Conflict(f"{tournament.slug} is completed; its results are frozen")
    if match.version != expected_version:
        db.session.rollback()
        current = lobby_for(get_tournament(ref), match_id)
        raise StaleLobby(
            f"lobby {current.key} was changed by someone else while you edited it; "
            "below is what is saved now, your entry was not saved",
            current,
        )
    before = saved_rows(match)
    participants = dict(
        db.session.execute(
            select(Participant.key, Participant.id).where(
                Participant.tournament_id == tournament.id,
                or_(is_visible(Participant.id, tournament.id), Participant.key.in_(list(before))),
            )
        ).all()
    )
    entry = {
        "stage": stage,
        "state": match.state,
        "completed_at": iso_z(match.completed_at),
        "results": check.results(),
    }
    clean = validate_match_entry(entry, "match", set(participants))
    after = {r["participant"]: (r["placement"], r["kills"]) for r in clean["results"]}
    if after == before and clean["stage"] == match.stage:
        # Saving what is already saved changes nothing, so it records and announces nothing.
        db.session.rollback()
        return lobby_for(get_tournament(ref), match_id), check
    db.session.execute(delete(MatchResult).where(MatchResult.match_id == match.id))
    db.session.execute(
        insert(MatchResult),
        [
            {
                "match_id": match.id,
                "participant_id": participants[r["participant"]],
                "placement": r["placement"],
                "kills": r["kills"],
            }
            for r in clean["results"]
        ],
    )
    before_stage = match.stage
    match.stage = clean["stage"]
    match.version = match.version + 1
    audit.record(
        "match.results_corrected",
        target_type="match",
        target_id=match.id,
        tournament_id=tournament.id,
        actor_id=actor_id,
        before={"stage": before_stage, "results": {k: list(v) for k, v in before.items()}},
        after={"stage": match.stage, "results": {k: list(v) for k, v in after.items()}},
        reason=reason,
    )
    counts = Ruleset.lobby_counts(match)
    if counts:
        changes = _changed_lines(tournament, before, after)
        if changes:
            # The players were told the old line when the lobby completed: tell them it changed.
            signals.match_corrected.send(match, tournament=tournament, changes=changes, reason=reason)
        signals.leaderboard_updated.send(tournament, tournament_id=tournament.id)
    db.session.commit()
    db.session.expire(match, ["results"])
    return match, check


def _changed_lines(
    tournament: Tournament, before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> dict[str, dict[str, list[int] | None]]:
    """{team key: {"before": [placement, kills, points] | None, "after": ...}} for each team whose
    line a correction changed (None: no line on that side)."""
    ruleset = tournament_ruleset(tournament)

    def line(row: tuple[int, int] | None) -> list[int] | None:
        if row is None:
            return None
        placement, kills = row
        return [placement, kills, ruleset.lobby_points(placement, kills)]

    return {
        key: {"before": line(before.get(key)), "after": line(after.get(key))}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


# --------------------------------------------------------------------------- pasting


def parse_paste(tournament: Tournament, text: Any) -> tuple[dict[str, dict[str, str]], str | None]:
    """A pasted lobby, CSV (`team,placement,kills` a line; a header line is skipped) or JSON
    (a lobby as the API takes it, or just its `results` list). Teams are named by id, name or
    tag. Returns ({participant key: {placement, kills}}, stage or None) as text for the form."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("paste: paste the lobby's lines: team,placement,kills")
    if not storable(text):
        raise ValidationError("paste: contains a NUL character or an unpaired surrogate")
    participants = event_participants(tournament.id)
    lookup: dict[str, str] = {}
    for p in participants:
        for name in (p.tag, p.name, p.key):
            if name:
                lookup[name.casefold()] = p.key
    stage = None
    lines: list[tuple[str, Any, Any, Any]] = []
    stripped = text.strip()
    if stripped[:1] in "[{":
        doc = parse_json(stripped, "paste")
        if isinstance(doc, dict):
            stage = doc.get("stage") if isinstance(doc.get("stage"), str) else None
            doc = doc.get("results")
        if not isinstance(doc, list):
            raise ValidationError('paste: JSON must be a lobby {"results": [...]} or a list of results')
        for i, item in enumerate(doc):
            if not isinstance(item, dict):
                raise ValidationError(f"paste: results[{i}]: must be an object with participant, placement, kills")
            lines.append((f"results[{i}]", item.get("participant"), item.get("placement"), item.get("kills")))
    else:
        for number, cells in pasted.rows(stripped, "paste"):
            cells = [c.strip() for c in cells]
            if not any(cells):
                continue
            if not lines and len(cells) >= 2 and cells[1].casefold() == "placement":
                continue
            if len(cells) not in (2, 3):
                raise ValidationError(f"paste: line {number}: expected team,placement,kills; found {len(cells)} values")
            lines.append((f"line {number}", cells[0], cells[1], cells[2] if len(cells) == 3 else ""))
    if len(lines) > MAX_PASTE_LINES:
        raise ValidationError(f"paste: at most {MAX_PASTE_LINES} teams in one lobby")
    filled: dict[str, dict[str, str]] = {}
    for where, team, placement, kills in lines:
        if not isinstance(team, str) or team.casefold() not in lookup:
            shown = json.dumps(team, ensure_ascii=False)[:60]
            raise ValidationError(f"paste: {where}: unknown team {shown}; use a registered team's id, name or tag")
        key = lookup[team.casefold()]
        if key in filled:
            raise ValidationError(f"paste: {where}: {team} is listed twice")
        filled[key] = {"placement": _text(placement), "kills": _text(kills)}
    return filled, stage


def match_for(tournament: Tournament, match_id: int) -> Match:
    """A lobby or a series game of this tournament (what a state button names)."""
    match = db.session.get(Match, match_id) if is_db_id(match_id) else None
    if match is None or match.tournament_id != tournament.id:
        raise NotFound(f"no match {match_id} in {tournament.slug}")
    return match


def move_match(
    ref: int | str,
    match_id: int,
    new_state: Any,
    reason: Any,
    actor_id: int | None,
    *,
    winner: Any = None,
    score: Any = None,
) -> Match:
    """A match state change from the portal or the API: the state machine's rules, plus a
    reason for a dispute (the resolving note is optional, kept as the audit event's reason)."""
    if not isinstance(new_state, str):
        raise ValidationError("state: required")
    if reason is not None and not isinstance(reason, str):
        raise ValidationError("reason: must be text")
    reason = (reason or "").strip() or None
    if new_state == MatchState.DISPUTED.value and reason is None:
        raise ValidationError("reason: a dispute needs a reason (what is contested, and by whom)")
    return states.change_match_state(ref, match_id, new_state, actor_id, reason, winner=winner, score=score)
