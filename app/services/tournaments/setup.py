"""Setting a tournament up from the staff portal: create and edit it, register participants,
add point adjustments, import a tournament file by upload.

Rules (the same words as the tournament file, because the checks are the file's own):
- name, slug, game and scoring follow contract §2: a slug is lowercase words and digits joined
  by dashes with at least one letter and is unique; a custom scoring table is checked by
  `scoring.validate_custom`.
- The slug and the game are fixed once the tournament is live (public links and stored results
  depend on them), and the game cannot change while matches or series exist at all.
- Scoring changes are refused after completion: the final results were frozen with the old rules.
- Stages are up to 20 distinct names of at most 80 characters; `advancing` is empty or 1..1000.
- Participants are registered until completion; their ids follow the file's id rule and are
  derived from the name when not given; names differ ignoring case. A pasted list is checked
  whole and stored whole, or not at all.
- Adjustments are whole points from -10000 to 10000, never 0, always with a reason; battle
  royale only, not after completion.

Every change is one transaction with its audit event.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from app import signals
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.models import GAME_NAMES, Match, Participant, PointAdjustment, Series, Tournament, TournamentStatus
from app.services import audit
from app.services.inputs.text import check_name, storable
from app.services.results.locks import lock_tournament
from app.services.tournaments.file import (
    ID_RE,
    MAX_ADJUSTMENT,
    MAX_KEY,
    MAX_NAME,
    MAX_REASON,
    MAX_STAGE,
    MAX_TAG,
    _check_tournament,
    import_tournament,
    parse_json,
)
from app.services.tournaments.lookup import get_tournament

MAX_STAGES = 20
MAX_ADVANCING = 1000
MAX_PASTED_PARTICIPANTS = 1000
# Field paths in the file's messages, mapped to the form fields they describe.
_FILE_FIELDS = (
    ("tournament.scoring.placement_points", "placement_points"),
    ("tournament.scoring.kill_points", "kill_points"),
    ("tournament.scoring.tiebreakers", "tiebreakers"),
    ("tournament.scoring.preset", "scoring_preset"),
    ("tournament.name", "name"),
    ("tournament.slug", "slug"),
    ("tournament.game", "game"),
)


@dataclass
class TournamentFields:
    """What the create/edit form says, already parsed into Python values."""

    name: Any
    slug: Any
    game: Any
    scoring_preset: Any = None
    placement_points: Any = None
    kill_points: Any = None
    tiebreakers: Any = None
    stages: Any = None
    advancing: Any = None


def _checked(fields: TournamentFields) -> dict[str, Any]:
    """The file's own tournament rules, with messages renamed to the form's fields."""
    scoring: dict[str, Any] | None = None
    if fields.scoring_preset:
        scoring = {"preset": fields.scoring_preset}
        if fields.scoring_preset == "custom":
            scoring["placement_points"] = fields.placement_points
            scoring["kill_points"] = fields.kill_points
            scoring["tiebreakers"] = fields.tiebreakers or []
    raw = {"name": fields.name, "slug": fields.slug, "game": fields.game}
    if scoring is not None and fields.game in ("freefire", "pubgm"):
        raw["scoring"] = scoring
    try:
        row = _check_tournament(raw)
    except ValidationError as exc:
        message = exc.message
        for path, name in _FILE_FIELDS:
            if message.startswith(path):
                message = name + message[len(path) :]
                break
        raise ValidationError(message) from None
    row.pop("status")
    row["stages"] = _checked_stages(fields.stages)
    row["advancing"] = _checked_advancing(fields.advancing)
    return row


def _checked_stages(stages: Any) -> list[str] | None:
    if not stages:
        return None
    if not isinstance(stages, list) or len(stages) > MAX_STAGES:
        raise ValidationError(f"stages: at most {MAX_STAGES} stage names, one a line")
    seen: set[str] = set()
    clean = []
    for name in stages:
        if not isinstance(name, str) or not name.strip():
            continue
        name = name.strip()
        if len(name) > MAX_STAGE:
            raise ValidationError(f"stages: {name[:20]!r}... is longer than {MAX_STAGE} characters")
        if not storable(name):
            raise ValidationError("stages: contains a NUL character or an unpaired surrogate")
        check_name(name, "stages")
        if name.casefold() in seen:
            raise ValidationError(f"stages: {name!r} is listed twice")
        seen.add(name.casefold())
        clean.append(name)
    return clean or None


def _checked_advancing(advancing: Any) -> int | None:
    if advancing is None:
        return None
    if isinstance(advancing, bool) or not isinstance(advancing, int) or not 1 <= advancing <= MAX_ADVANCING:
        raise ValidationError(f"advancing: leave empty, or a whole number from 1 to {MAX_ADVANCING}")
    return advancing


def _slug_free(slug: str, tournament_id: int | None = None) -> None:
    query = select(Tournament.id).where(Tournament.slug == slug)
    if tournament_id is not None:
        query = query.where(Tournament.id != tournament_id)
    if db.session.scalar(query) is not None:
        raise ValidationError(f"slug: {slug!r} is already used by another tournament")


def slug_from_name(name: str) -> str:
    """The address a name suggests: `Spring Cup 2025!` -> `spring-cup-2025` (empty if nothing is left)."""
    ascii_name = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:80].strip("-")


# The form's fields checked one group at a time, the others standing in with valid values, so
# every problem is reported in one round (create_tournament itself stops at the first).
_FIELD_GROUPS = (
    ("name",),
    ("slug",),
    ("game", "scoring_preset", "placement_points", "kill_points", "tiebreakers"),
    ("stages",),
    ("advancing",),
)


def tournament_problems(fields: TournamentFields, tournament_id: int | None = None) -> list[str]:
    """Every problem of a create/edit form at once, each message starting with its field's name,
    by the same rules as `create_tournament` (the file's tournament rules, a free slug)."""
    game = fields.game if fields.game in GAME_NAMES else "freefire"
    problems: list[str] = []
    for group in _FIELD_GROUPS:
        probe = TournamentFields(name="Placeholder", slug="placeholder", game=game)
        for name in group:
            setattr(probe, name, getattr(fields, name))
        try:
            _checked(probe)
        except ValidationError as exc:
            problems.append(exc.message)
    if not any(p.startswith("slug:") for p in problems):
        try:
            _slug_free(fields.slug, tournament_id)
        except ValidationError as exc:
            problems.append(exc.message)
    return problems


def create_tournament(fields: TournamentFields, actor_id: int | None) -> Tournament:
    """A new tournament starts as a draft: nothing is public until staff open registration."""
    row = _checked(fields)
    _slug_free(row["slug"])
    tournament = Tournament(status=TournamentStatus.DRAFT.value, **row)
    db.session.add(tournament)
    db.session.flush()
    audit.record(
        "tournament.created",
        target_type="tournament",
        target_id=tournament.id,
        tournament_id=tournament.id,
        actor_id=actor_id,
        after=_snapshot(tournament),
    )
    db.session.commit()
    return tournament


def update_tournament(ref: int | str, fields: TournamentFields, actor_id: int | None) -> Tournament:
    tournament = get_tournament(ref)
    lock_tournament(tournament)
    row = _checked(fields)
    before = _snapshot(tournament)
    started = tournament.status in (TournamentStatus.LIVE.value, TournamentStatus.COMPLETED.value)
    if row["slug"] != tournament.slug:
        if started:
            raise ValidationError(f"slug: fixed once the tournament is {tournament.status} (public links use it)")
        _slug_free(row["slug"], tournament.id)
    if row["game"] != tournament.game:
        if started:
            raise ValidationError(f"game: fixed once the tournament is {tournament.status}")
        has_play = db.session.scalar(select(func.count(Match.id)).where(Match.tournament_id == tournament.id)) or 0
        has_play += db.session.scalar(select(func.count(Series.id)).where(Series.tournament_id == tournament.id)) or 0
        if has_play:
            raise ValidationError("game: cannot change while the tournament has matches or series")
    scoring_keys = ("scoring_preset", "placement_points", "kill_points", "tiebreakers")
    if tournament.status == TournamentStatus.COMPLETED.value and any(
        row[k] != getattr(tournament, k) for k in scoring_keys
    ):
        raise ValidationError("scoring_preset: the final results were frozen with this scoring; it cannot change now")
    for key, value in row.items():
        setattr(tournament, key, value)
    after = _snapshot(tournament)
    changed = {k for k in after if after[k] != before[k]}
    if not changed:
        db.session.rollback()
        return get_tournament(ref)
    audit.record(
        "tournament.updated",
        target_type="tournament",
        target_id=tournament.id,
        tournament_id=tournament.id,
        actor_id=actor_id,
        before={k: before[k] for k in sorted(changed)},
        after={k: after[k] for k in sorted(changed)},
    )
    if changed & set(scoring_keys):
        signals.leaderboard_updated.send(tournament, tournament_id=tournament.id)
    db.session.commit()
    return tournament


def _snapshot(t: Tournament) -> dict[str, Any]:
    return {
        "name": t.name,
        "slug": t.slug,
        "game": t.game,
        "status": t.status,
        "scoring_preset": t.scoring_preset,
        "placement_points": t.placement_points,
        "kill_points": t.kill_points,
        "tiebreakers": t.tiebreakers,
        "stages": t.stages,
        "advancing": t.advancing,
    }


# --------------------------------------------------------------------------- participants


def _key_from_name(name: str, taken: set[str]) -> str:
    """`Team Phoenix (BD)` -> `team-phoenix-bd`; a number is added while the id is taken."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[: MAX_KEY - 6] or "team"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key


def _check_participant(
    name: Any, key: Any, tag: Any, taken_keys: set[str], taken_names: dict[str, str], where: str
) -> dict[str, Any]:
    """One participant against the file's rules; `where` prefixes messages ("" for the form)."""
    prefix = f"{where} " if where else ""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"{prefix}name: required")
    # The rule is checked on the text as sent (below): strip() would drop a trailing U+0085 or
    # U+2028 (Python counts them as spaces) and accept what the other entry points refuse.
    sent_name, sent_tag = name, tag
    name = name.strip()
    if len(name) > MAX_NAME:
        raise ValidationError(f"{prefix}name: at most {MAX_NAME} characters")
    if not storable(name):
        raise ValidationError(f"{prefix}name: contains a NUL character or an unpaired surrogate")
    check_name(sent_name, f"{prefix}name")
    if name.casefold() in taken_names:
        raise ValidationError(f"{prefix}name: {name!r} is already registered (as {taken_names[name.casefold()]})")
    key = (key or "").strip() if isinstance(key, str) else key
    if key:
        if not isinstance(key, str) or len(key) > MAX_KEY or not ID_RE.match(key):
            raise ValidationError(
                f"{prefix}key: at most {MAX_KEY} letters, digits, '_', '.' or '-', starting with a letter or digit"
            )
        if key in taken_keys:
            raise ValidationError(f"{prefix}key: {key!r} is already used in this tournament")
    else:
        key = _key_from_name(name, taken_keys)
    tag = (tag or "").strip() if isinstance(tag, str) else tag
    if isinstance(tag, str) and tag:
        check_name(sent_tag, f"{prefix}tag")
    if tag and (not isinstance(tag, str) or len(tag) > MAX_TAG or not storable(tag)):
        raise ValidationError(f"{prefix}tag: at most {MAX_TAG} characters of text")
    taken_keys.add(key)
    taken_names[name.casefold()] = key
    return {"key": key, "name": name, "tag": tag or None}


def _open_for_registration(tournament: Tournament) -> None:
    if tournament.status == TournamentStatus.COMPLETED.value:
        raise Conflict(f"{tournament.slug} is completed; no participants can be added")


def _taken(tournament: Tournament) -> tuple[set[str], dict[str, str]]:
    rows = db.session.execute(
        select(Participant.key, Participant.name).where(Participant.tournament_id == tournament.id)
    ).all()
    return {k for k, _ in rows}, {n.casefold(): k for k, n in rows}


def register_participant(ref: int | str, name: Any, key: Any, tag: Any, actor_id: int | None) -> Participant:
    tournament = get_tournament(ref)
    lock_tournament(tournament)
    _open_for_registration(tournament)
    keys, names = _taken(tournament)
    row = _check_participant(name, key, tag, keys, names, "")
    participant = Participant(tournament_id=tournament.id, **row)
    db.session.add(participant)
    db.session.flush()
    audit.record(
        "participant.registered",
        target_type="participant",
        target_id=participant.id,
        tournament_id=tournament.id,
        actor_id=actor_id,
        after=row,
    )
    db.session.commit()
    return participant


def parse_participants_csv(text: Any) -> list[tuple[int, list[str]]]:
    """`name[,key][,tag]` a line; a first line `name,key,tag` is a header. Blank lines are skipped."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("participants: paste at least one line: name[,key][,tag]")
    if not storable(text):
        raise ValidationError("participants: contains a NUL character or an unpaired surrogate")
    rows: list[tuple[int, list[str]]] = []
    for number, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
        # Spaces and tabs around a cell are spreadsheet noise; str.strip() would also drop a
        # trailing U+0085 or U+2028, which the name rule refuses everywhere else.
        cells = [c.strip(" \t") for c in cells]
        if not any(cells):
            continue
        if not rows and [c.casefold() for c in cells[:1]] == ["name"]:
            continue
        if len(cells) > 3:
            raise ValidationError(f"participants: line {number}: at most 3 values (name, key, tag), found {len(cells)}")
        rows.append((number, cells))
        if len(rows) > MAX_PASTED_PARTICIPANTS:
            raise ValidationError(f"participants: at most {MAX_PASTED_PARTICIPANTS} lines at once")
    if not rows:
        raise ValidationError("participants: paste at least one line: name[,key][,tag]")
    return rows


def register_participants_csv(ref: int | str, text: Any, actor_id: int | None) -> list[Participant]:
    """All the pasted lines or none: a list half-registered would have to be untangled by hand."""
    lines = parse_participants_csv(text)
    tournament = get_tournament(ref)
    lock_tournament(tournament)
    _open_for_registration(tournament)
    keys, names = _taken(tournament)
    rows = []
    # A name or id given twice in the paste is a typo in the list, not a team already registered.
    seen_names: dict[str, int] = {}
    seen_keys: dict[str, int] = {}
    try:
        for number, cells in lines:
            cells = cells + [""] * (3 - len(cells))
            name, key = cells[0].strip().casefold(), cells[1].strip()
            if name and name in seen_names:
                raise ValidationError(
                    f"line {number}: name: {cells[0].strip()!r} is listed twice (also on line {seen_names[name]})"
                )
            if key and key in seen_keys:
                raise ValidationError(f"line {number}: key: {key!r} is listed twice (also on line {seen_keys[key]})")
            rows.append(_check_participant(cells[0], cells[1], cells[2], keys, names, f"line {number}:"))
            seen_names.setdefault(name, number)
            if key:
                seen_keys.setdefault(key, number)
    except ValidationError as exc:
        db.session.rollback()
        raise ValidationError(f"participants: {exc.message}") from None
    created = [Participant(tournament_id=tournament.id, **row) for row in rows]
    db.session.add_all(created)
    db.session.flush()
    audit.record(
        "participants.registered",
        target_type="tournament",
        target_id=tournament.id,
        tournament_id=tournament.id,
        actor_id=actor_id,
        after={"participants": [r["key"] for r in rows]},
    )
    db.session.commit()
    return created


# --------------------------------------------------------------------------- adjustments


def add_adjustment(ref: int | str, participant_key: Any, points: Any, reason: Any, actor_id: int | None):
    tournament = get_tournament(ref)
    if not tournament.is_battle_royale:
        raise ValidationError(f"{tournament.slug} is played in series; point adjustments are for battle royale")
    if isinstance(points, bool) or not isinstance(points, int) or not -MAX_ADJUSTMENT <= points <= MAX_ADJUSTMENT:
        raise ValidationError(f"points: a whole number from -{MAX_ADJUSTMENT} to {MAX_ADJUSTMENT}")
    if points == 0:
        raise ValidationError("points: must not be 0 (an adjustment changes the total)")
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("reason: required (it is shown with the adjustment)")
    if len(reason) > MAX_REASON or not storable(reason):
        raise ValidationError(f"reason: at most {MAX_REASON} characters of text")
    lock_tournament(tournament)
    if tournament.status == TournamentStatus.COMPLETED.value:
        raise Conflict(f"{tournament.slug} is completed; its results are frozen")
    participant = db.session.scalar(
        select(Participant).where(Participant.tournament_id == tournament.id, Participant.key == participant_key)
    )
    if participant is None:
        if not participant_key:
            raise ValidationError("participant: choose a team")
        raise ValidationError(f"participant: no participant {participant_key!r} in {tournament.slug}")
    adjustment = PointAdjustment(
        tournament_id=tournament.id,
        participant_id=participant.id,
        points=points,
        reason=reason.strip(),
        actor_id=actor_id,
    )
    db.session.add(adjustment)
    db.session.flush()
    audit.record(
        "adjustment.added",
        target_type="point_adjustment",
        target_id=adjustment.id,
        tournament_id=tournament.id,
        actor_id=actor_id,
        after={"participant_id": participant.key, "points": points},
        reason=adjustment.reason,
    )
    signals.leaderboard_updated.send(tournament, tournament_id=tournament.id)
    db.session.commit()
    return adjustment


def adjustments(tournament: Tournament) -> list[PointAdjustment]:
    return list(
        db.session.scalars(
            select(PointAdjustment)
            .where(PointAdjustment.tournament_id == tournament.id)
            .order_by(PointAdjustment.id.desc())
        )
    )


# --------------------------------------------------------------------------- import


def import_upload(data: bytes, filename: str, actor_id: int | None) -> Tournament:
    """A tournament file sent through the portal: read and checked exactly as the CLI does."""
    source = filename if filename and storable(filename) else "upload"
    doc = parse_json(data, source)
    result = import_tournament(doc, actor_id=actor_id)
    tournament = db.session.get(Tournament, result.tournament_id)
    if tournament is None:  # pragma: no cover - the import just committed it
        raise NotFound("the imported tournament is gone")
    return tournament
