"""The tournament file, `deltacrown.tournament/v1` (contract §2): validation, import, export.

A file is checked completely before anything is written, and refused whole: organisers fix a
file and import it again, so a half-imported tournament would only be something to clean up.
Every message starts with the JSON path of the offending place, because the person reading it
has the file open in an editor, not our source code.

Unknown keys are refused everywhere (except a participant's optional `tag`): a misspelt
`"completd_at"` silently ignored would change the standings without anyone noticing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import has_app_context
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from app import scoring
from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models import (
    BATTLE_ROYALE_GAMES,
    Game,
    Match,
    MatchResult,
    MatchState,
    Participant,
    PointAdjustment,
    Series,
    Tournament,
    TournamentStatus,
)
from app.services import audit
from app.services.numbers import json_int
from app.services.roster_visibility import is_visible
from app.services.text import check_name, storable
from app.services.timestamps import iso_z

FORMAT = "deltacrown.tournament/v1"

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# ISO 8601 date and time, loose enough for what spreadsheets and scripts write (space for `T`,
# lowercase `z`, no seconds, long fractions). The zone is optional here only so that a missing
# zone gets a message of its own.
TIMESTAMP_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?$"
)

MAX_NAME = 200
MAX_SLUG = 80
MAX_KEY = 80
MAX_STAGE = 80
MAX_TAG = 20
MAX_REASON = 500
MAX_PLACEMENT = 100
MAX_KILLS = 1000
MAX_ADJUSTMENT = 10000
MAX_SCORE = 10000
BEST_OF_CHOICES = (1, 2, 3, 5, 7)
MAX_ADVANCING = 100_000

GAMES = tuple(g.value for g in Game)
BR_GAMES = tuple(g for g in GAMES if g in BATTLE_ROYALE_GAMES)
STATUSES = tuple(s.value for s in TournamentStatus)
STATES = tuple(s.value for s in MatchState)
# A lobby or game in these states has happened, so the time it ended is known and needed
# (the `earliest_completion` tiebreaker and match ordering use it).
STATES_WITH_TIME = frozenset({MatchState.COMPLETED.value, MatchState.DISPUTED.value})
STATES_WITHOUT_TIME = frozenset({MatchState.SCHEDULED.value, MatchState.LIVE.value})
# The same rule `tournaments complete` applies: results still open to change block completion.
OPEN_STATES = frozenset({MatchState.LIVE.value, MatchState.DISPUTED.value})

TOP_KEYS = ("format", "tournament", "participants", "matches", "adjustments", "series")
TOURNAMENT_KEYS = ("name", "slug", "game", "status", "advancing", "scoring")
SCORING_KEYS = ("preset", "placement_points", "kill_points", "tiebreakers")
CUSTOM_ONLY_KEYS = ("placement_points", "kill_points", "tiebreakers")
PARTICIPANT_KEYS = ("id", "name", "tag")
MATCH_KEYS = ("key", "stage", "state", "completed_at", "results")
RESULT_KEYS = ("participant", "placement", "kills")
ADJUSTMENT_KEYS = ("participant", "points", "reason")
SERIES_KEYS = ("key", "name", "best_of", "participants", "forfeit_winner", "games")
GAME_KEYS = ("key", "state", "completed_at", "winner", "score")

# Rows per bulk INSERT: large enough that a 100,000-result file is a few dozen statements,
# small enough that progress moves and no driver parameter limit is reached.
RESULT_CHUNK = 5000


@dataclass
class ImportResult:
    tournament_id: int
    slug: str
    matches: dict[str, int]
    series: dict[str, int]


# --------------------------------------------------------------------------- small checkers


PLAIN_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def _join(where: str, key: object) -> str:
    """`where.key`; a key that is not a plain word (spaces, dots, a newline) is quoted, so the
    path stays unambiguous and the message stays on one line."""
    if not isinstance(key, str) or not PLAIN_KEY_RE.match(key):
        return f"{where}[{_quote(str(key))}]"
    return f"{where}.{key}" if where else key


def _label(where: str, root: str = "entry") -> str:
    return where or root


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _object(value: object, where: str, allowed: tuple[str, ...], root: str = "entry") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(f"{_label(where, root)}: must be an object, found {_describe(value)}")
    for key in value:
        if key not in allowed:
            raise ValidationError(f"{_join(where, key)}: unknown key; allowed here: {', '.join(allowed)}")
    return value


def _required(obj: dict[str, Any], key: str, where: str) -> object:
    if key not in obj:
        raise ValidationError(f"{_join(where, key)}: required")
    return obj[key]


def _list(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValidationError(f"{path}: must be a list, found {_describe(value)}")
    return value


def _string(value: object, path: str, max_len: int) -> str:
    if not isinstance(value, str) or not value.strip():
        found = "an empty string" if isinstance(value, str) else _describe(value)
        raise ValidationError(f"{path}: must be a non-empty string, found {found}")
    if len(value) > max_len:
        raise ValidationError(f"{path}: at most {max_len} characters, found {len(value)}")
    if not storable(value):
        raise ValidationError(f"{path}: contains a NUL character or an unpaired surrogate")
    return value


def _optional_string(value: object, path: str, max_len: int) -> str | None:
    return None if value is None else _string(value, path, max_len)


def _name(value: object, path: str, max_len: int) -> str:
    return check_name(_string(value, path, max_len), path)


def _optional_name(value: object, path: str, max_len: int) -> str | None:
    return None if value is None else _name(value, path, max_len)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(value: object, path: str, low: int, high: int) -> int:
    if not _is_int(value):
        raise ValidationError(f"{path}: must be an integer, found {_describe(value)}")
    assert isinstance(value, int)
    if value < low:
        raise ValidationError(f"{path}: must be >= {low}")
    if value > high:
        raise ValidationError(f"{path}: must be <= {high}")
    return value


def _choice(value: object, path: str, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        found = _quote(value) if isinstance(value, str) else _describe(value)
        raise ValidationError(f"{path}: must be one of {', '.join(choices)}; found {found}")
    return value


def _identifier(value: object, path: str) -> str:
    text = _string(value, path, MAX_KEY)
    if not ID_RE.match(text):
        raise ValidationError(
            f"{path}: {_quote(text)} must start with a letter or digit and use only letters, digits, '_', '.' and '-'"
        )
    return text


def _participant_ref(value: object, path: str, participant_keys: set[str] | frozenset[str]) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{path}: must be a participant id (a string), found {_describe(value)}")
    if value not in participant_keys:
        raise ValidationError(f"{path}: unknown participant {_quote(value)}; declare it in participants")
    return value


def parse_timestamp(value: object, where: str) -> datetime | None:
    """Read an ISO 8601 time as aware UTC.

    A time without a zone is refused rather than guessed: organisers sit in many time zones,
    and a wrong guess silently reorders matches (and with them `last_match_placement`).
    """
    if value is None:
        return None
    example = '"2025-11-13T14:00:00Z"'
    if not isinstance(value, str):
        raise ValidationError(f"{where}: must be an ISO 8601 date and time like {example}, found {_describe(value)}")
    match = TIMESTAMP_RE.match(value)
    if match is None:
        raise ValidationError(f"{where}: must be an ISO 8601 date and time like {example}, found {_quote(value)}")
    if match.group("zone") is None:
        raise ValidationError(f"{where}: {_quote(value)} has no time zone; add Z (UTC) or an offset like +06:00")
    text = value[:10] + "T" + value[11:]
    if text.endswith("z"):
        text = text[:-1] + "Z"
    fraction = re.search(r"\.(\d+)", text)
    if fraction and len(fraction.group(1)) > 6:  # Python keeps microseconds; drop the rest
        text = text[: fraction.start(1) + 6] + text[fraction.end(1) :]
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValidationError(f"{where}: {_quote(value)} is not a valid date and time") from None


format_timestamp = iso_z  # kept for callers of the file module


def _state_and_time(obj: dict[str, Any], where: str) -> tuple[str, datetime | None]:
    state = _choice(obj.get("state", MatchState.COMPLETED.value), _join(where, "state"), STATES)
    completed_at = parse_timestamp(obj.get("completed_at"), _join(where, "completed_at"))
    if state in STATES_WITH_TIME and completed_at is None:
        raise ValidationError(f'{_join(where, "completed_at")}: required when state is "{state}"')
    if state in STATES_WITHOUT_TIME and completed_at is not None:
        raise ValidationError(f'{_join(where, "completed_at")}: must be null when state is "{state}"')
    return state, completed_at


def _key(obj: dict[str, Any], where: str, taken: Iterable[str], required: bool) -> str | None:
    path = _join(where, "key")
    value = obj.get("key")
    if value is None:
        if required:
            raise ValidationError(f"{path}: required")
        return None
    text = _string(value, path, MAX_KEY)
    if text in taken:
        raise ValidationError(f"{path}: duplicate key {_quote(text)} (match and game keys must be unique)")
    return text


# --------------------------------------------------------------------------- one lobby


def validate_match_entry(
    entry: object,
    where: str,
    participant_keys: set[str] | frozenset[str],
    existing_keys: set[str] | frozenset[str] = frozenset(),
    *,
    require_key: bool = False,
) -> dict[str, Any]:
    """Check one battle-royale lobby; shared by the import and the API so both refuse the same
    input with the same words. `existing_keys` are the keys already taken in the tournament."""
    obj = _object(entry, where, MATCH_KEYS)
    key = _key(obj, where, existing_keys, require_key)
    stage = _optional_name(obj.get("stage"), _join(where, "stage"), MAX_STAGE)
    state, completed_at = _state_and_time(obj, where)

    results_path = _join(where, "results")
    raw_results = [] if obj.get("results") is None else _list(obj["results"], results_path)
    if state in STATES_WITH_TIME and not raw_results:
        raise ValidationError(f'{results_path}: a lobby whose state is "{state}" needs at least one result')

    results: list[dict[str, Any]] = []
    seen_participant: dict[str, int] = {}
    seen_placement: dict[int, int] = {}
    for i, raw in enumerate(raw_results):
        path = f"{results_path}[{i}]"
        row = _object(raw, path, RESULT_KEYS)
        participant = _participant_ref(_required(row, "participant", path), f"{path}.participant", participant_keys)
        if participant in seen_participant:
            raise ValidationError(
                f"{path}.participant: {_quote(participant)} is listed twice in this lobby "
                f"(also results[{seen_participant[participant]}])"
            )
        seen_participant[participant] = i
        placement = _int(_required(row, "placement", path), f"{path}.placement", 1, MAX_PLACEMENT)
        if placement in seen_placement:
            raise ValidationError(
                f"{path}.placement: placement {placement} is also given to results[{seen_placement[placement]}]"
            )
        seen_placement[placement] = i
        kills = _int(_required(row, "kills", path), f"{path}.kills", 0, MAX_KILLS)
        results.append({"participant": participant, "placement": placement, "kills": kills})

    return {"key": key, "stage": stage, "state": state, "completed_at": completed_at, "results": results}


# --------------------------------------------------------------------------- the whole file


@dataclass
class _Plan:
    """A checked file, normalised: what the import writes, with nothing left to decide."""

    tournament: dict[str, Any]
    participants: list[dict[str, Any]]
    matches: list[dict[str, Any]] = field(default_factory=list)
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    series: list[dict[str, Any]] = field(default_factory=list)

    @property
    def units(self) -> int:
        return len(self.matches) + sum(len(s["games"]) for s in self.series)


def validate_document(doc: object) -> None:
    """Refuse a file that breaks any rule, naming the place. Within an application context the
    slug is also checked against the database, so a valid answer means the import can proceed."""
    _check_document(doc)


def _check_document(doc: object) -> _Plan:
    top = _object(doc, "", TOP_KEYS, root="document")
    fmt = _required(top, "format", "")
    if fmt != FORMAT:
        found = _quote(fmt) if isinstance(fmt, str) else _describe(fmt)
        raise ValidationError(f"format: must be {_quote(FORMAT)}, found {found}")

    tournament = _check_tournament(_required(top, "tournament", ""))
    game = tournament["game"]
    is_br = game in BATTLE_ROYALE_GAMES

    participants = _check_participants(top.get("participants"))
    keys = {p["key"] for p in participants}
    plan = _Plan(tournament=tournament, participants=participants)

    # An empty list holds nothing wrong, so `"matches": []` in a series file (or `"series": []`
    # in a battle-royale one) is accepted; only entries of the wrong kind are refused.
    for name in ("matches", "adjustments"):
        if top.get(name) not in (None, []) and not is_br:
            raise ValidationError(
                f'{name}: only battle-royale games ({", ".join(BR_GAMES)}) have {name}; {game} results go in "series"'
            )
    if top.get("series") not in (None, []) and is_br:
        raise ValidationError(f'series: {game} is a battle-royale game; its results go in "matches", not "series"')

    taken: set[str] = set()
    if top.get("matches") is not None and is_br:
        for i, entry in enumerate(_list(top["matches"], "matches")):
            match = validate_match_entry(entry, f"matches[{i}]", keys, taken, require_key=True)
            taken.add(match["key"])
            plan.matches.append(match)
    if top.get("adjustments") is not None and is_br:
        for i, entry in enumerate(_list(top["adjustments"], "adjustments")):
            plan.adjustments.append(_check_adjustment(entry, f"adjustments[{i}]", keys))
    if top.get("series") is not None and not is_br:
        series_keys: set[str] = set()
        for i, entry in enumerate(_list(top["series"], "series")):
            series = _check_series(entry, f"series[{i}]", keys, taken)
            if series["key"] in series_keys:
                raise ValidationError(f"series[{i}].key: duplicate series key {_quote(series['key'])}")
            series_keys.add(series["key"])
            plan.series.append(series)

    if tournament["status"] == TournamentStatus.COMPLETED.value:
        _check_all_final(plan)
        # The file carries no completion time; the last result is the best record of it.
        times = [m["completed_at"] for m in plan.matches]
        times += [g["completed_at"] for s in plan.series for g in s["games"]]
        tournament["completed_at"] = max((t for t in times if t is not None), default=None) or datetime.now(UTC)

    if has_app_context():
        slug = tournament["slug"]
        if db.session.scalar(select(Tournament.id).where(Tournament.slug == slug)) is not None:
            raise ValidationError(_slug_taken(slug))
    return plan


def _slug_taken(slug: str) -> str:
    return f"tournament.slug: {_quote(slug)} is already in use by another tournament; import refused"


def _check_tournament(value: object) -> dict[str, Any]:
    obj = _object(value, "tournament", TOURNAMENT_KEYS)
    name = _name(_required(obj, "name", "tournament"), "tournament.name", MAX_NAME)
    slug = _string(_required(obj, "slug", "tournament"), "tournament.slug", MAX_SLUG)
    if not SLUG_RE.match(slug):
        raise ValidationError(
            f"tournament.slug: {_quote(slug)} must be lowercase letters and digits in words joined by "
            'single dashes, like "spring-cup-2025"'
        )
    if slug.isdigit():
        raise ValidationError(
            f"tournament.slug: {_quote(slug)} needs a letter; the API reads an all-digit address as a database id"
        )
    game = _choice(_required(obj, "game", "tournament"), "tournament.game", GAMES)
    status = _choice(obj.get("status", TournamentStatus.LIVE.value), "tournament.status", STATUSES)
    row: dict[str, Any] = {
        "name": name,
        "slug": slug,
        "game": game,
        "status": status,
        "advancing": check_advancing(obj.get("advancing"), "tournament.advancing"),
        "scoring_preset": None,
        "placement_points": None,
        "kill_points": None,
        "tiebreakers": None,
    }
    raw_scoring = obj.get("scoring")
    if game not in BATTLE_ROYALE_GAMES:
        if raw_scoring is not None:
            raise ValidationError(
                f"tournament.scoring: only battle-royale games ({', '.join(BR_GAMES)}) have scoring; "
                f"{game} is played in series"
            )
        return row

    scoring_obj = _object({} if raw_scoring is None else raw_scoring, "tournament.scoring", SCORING_KEYS)
    preset = scoring_obj.get("preset")
    preset = scoring.DEFAULT_PRESET[game] if preset is None else preset
    preset = _choice(preset, "tournament.scoring.preset", scoring.PRESET_NAMES)
    row["scoring_preset"] = preset
    if preset != "custom":
        for key in CUSTOM_ONLY_KEYS:
            if key in scoring_obj:
                raise ValidationError(f'tournament.scoring.{key}: only allowed with preset "custom"')
        return row
    for key in ("placement_points", "kill_points"):
        if key not in scoring_obj:
            raise ValidationError(f'tournament.scoring.{key}: required with preset "custom"')
    tiebreakers = scoring_obj.get("tiebreakers")
    ruleset = scoring.validate_custom(
        scoring_obj["placement_points"],
        scoring_obj["kill_points"],
        [] if tiebreakers is None else tiebreakers,
        where="tournament.scoring",
    )
    row["placement_points"] = list(ruleset.placement_points)
    row["kill_points"] = ruleset.kill_points
    row["tiebreakers"] = list(ruleset.tiebreakers)
    return row


def check_advancing(value: object, path: str) -> int | None:
    """The advancement line: the top N qualify (optional; null means no line)."""
    if value is None:
        return None
    if not _is_int(value) or value < 1:
        found = _describe(value) if not _is_int(value) else str(value)
        raise ValidationError(f"{path}: must be an integer >= 1, found {found}")
    if value > MAX_ADVANCING:
        raise ValidationError(f"{path}: must be <= {MAX_ADVANCING}")
    return value


def _check_participants(value: object) -> list[dict[str, Any]]:
    if value is None:
        return []
    participants: list[dict[str, Any]] = []
    ids: dict[str, int] = {}
    names: dict[str, int] = {}
    for i, raw in enumerate(_list(value, "participants")):
        path = f"participants[{i}]"
        obj = _object(raw, path, PARTICIPANT_KEYS)
        key = _identifier(_required(obj, "id", path), f"{path}.id")
        if key in ids:
            raise ValidationError(f"{path}.id: duplicate id {_quote(key)} (also participants[{ids[key]}])")
        ids[key] = i
        name = _name(_required(obj, "name", path), f"{path}.name", MAX_NAME)
        # Standings sort equal teams by name, so two teams called alike would be told apart
        # by nobody reading them.
        folded = name.strip().casefold()
        if folded in names:
            raise ValidationError(
                f"{path}.name: duplicate name {_quote(name)} (also participants[{names[folded]}]; "
                "names must differ, ignoring case)"
            )
        names[folded] = i
        tag = _optional_name(obj.get("tag"), f"{path}.tag", MAX_TAG)
        participants.append({"key": key, "name": name, "tag": tag})
    return participants


def _check_adjustment(value: object, where: str, participant_keys: set[str]) -> dict[str, Any]:
    obj = _object(value, where, ADJUSTMENT_KEYS)
    participant = _participant_ref(_required(obj, "participant", where), f"{where}.participant", participant_keys)
    points = _int(_required(obj, "points", where), f"{where}.points", -MAX_ADJUSTMENT, MAX_ADJUSTMENT)
    if points == 0:
        raise ValidationError(f"{where}.points: must not be 0 (an adjustment changes the total)")
    reason = _string(_required(obj, "reason", where), f"{where}.reason", MAX_REASON)
    return {"participant": participant, "points": points, "reason": reason}


def _check_series(value: object, where: str, participant_keys: set[str], taken: set[str]) -> dict[str, Any]:
    obj = _object(value, where, SERIES_KEYS)
    key = _string(_required(obj, "key", where), f"{where}.key", MAX_KEY)
    name = _optional_name(obj.get("name"), f"{where}.name", MAX_NAME) or ""
    best_of_raw = _required(obj, "best_of", where)
    if not _is_int(best_of_raw) or best_of_raw not in BEST_OF_CHOICES:
        found = best_of_raw if _is_int(best_of_raw) else _describe(best_of_raw)
        raise ValidationError(f"{where}.best_of: must be one of {', '.join(map(str, BEST_OF_CHOICES))}; found {found}")
    best_of: int = best_of_raw  # type: ignore[assignment]

    pair_path = f"{where}.participants"
    pair = _list(_required(obj, "participants", where), pair_path)
    if len(pair) != 2:
        raise ValidationError(f"{pair_path}: must list exactly two participant ids, found {len(pair)}")
    side_a = _participant_ref(pair[0], f"{pair_path}[0]", participant_keys)
    side_b = _participant_ref(pair[1], f"{pair_path}[1]", participant_keys)
    if side_a == side_b:
        raise ValidationError(f"{pair_path}[1]: {_quote(side_b)} cannot play itself")
    sides = (side_a, side_b)
    sides_text = f"{_quote(side_a)} or {_quote(side_b)}"

    forfeit = obj.get("forfeit_winner")
    if forfeit is not None and forfeit not in sides:
        found = _quote(forfeit) if isinstance(forfeit, str) else _describe(forfeit)
        raise ValidationError(f"{where}.forfeit_winner: must be null, {sides_text}; found {found}")

    games_path = f"{where}.games"
    raw_games = _list(obj["games"], games_path) if obj.get("games") is not None else []
    if len(raw_games) > best_of:
        raise ValidationError(
            f"{games_path}: a best-of-{best_of} series has at most {best_of} games, found {len(raw_games)}"
        )
    needed = best_of // 2 + 1
    wins = dict.fromkeys(sides, 0)
    decided_by: int | None = None
    games: list[dict[str, Any]] = []
    for j, raw in enumerate(raw_games):
        path = f"{games_path}[{j}]"
        if decided_by is not None:
            raise ValidationError(f"{path}: the series was already decided by game {decided_by}")
        game = _check_game(raw, path, sides, sides_text, taken)
        taken.add(game["key"])
        games.append(game)
        if game["state"] == MatchState.COMPLETED.value and game["winner"] is not None:
            wins[game["winner"]] += 1
            if wins[game["winner"]] >= needed:
                decided_by = j + 1

    return {
        "key": key,
        "name": name,
        "best_of": best_of,
        "participants": sides,
        "forfeit_winner": forfeit,
        "games": games,
    }


def _check_game(value: object, where: str, sides: tuple[str, str], sides_text: str, taken: set[str]) -> dict[str, Any]:
    obj = _object(value, where, GAME_KEYS)
    key = _key(obj, where, taken, required=True)
    state, completed_at = _state_and_time(obj, where)

    score: tuple[int, int] | None = None
    raw_score = obj.get("score")
    score_path = f"{where}.score"
    if raw_score is not None:
        if not isinstance(raw_score, dict):
            raise ValidationError(f"{score_path}: must be an object like {{{_quote(sides[0])}: 13, ...}}")
        for name in raw_score:
            if name not in sides:
                raise ValidationError(f"{_join(score_path, name)}: not a participant of this series ({sides_text})")
        for name in sides:
            if name not in raw_score:
                raise ValidationError(f"{score_path}: must give the scores of both {sides_text}")
        score = (
            _int(raw_score[sides[0]], _join(score_path, sides[0]), 0, MAX_SCORE),
            _int(raw_score[sides[1]], _join(score_path, sides[1]), 0, MAX_SCORE),
        )

    winner_path = f"{where}.winner"
    winner = obj.get("winner")
    if winner is not None and winner not in sides:
        found = _quote(winner) if isinstance(winner, str) else _describe(winner)
        raise ValidationError(f"{winner_path}: must be null, {sides_text}; found {found}")
    if state != MatchState.COMPLETED.value:
        if winner is not None:
            raise ValidationError(
                f'{winner_path}: must be null while the game is "{state}"; only a completed game has a winner'
            )
    elif winner is None:
        if score is None:
            raise ValidationError(f"{winner_path}: required for a completed game (or give an equal score for a draw)")
        if score[0] != score[1]:
            raise ValidationError(f"{winner_path}: required; the score {score[0]}-{score[1]} is not a draw")
    elif score is not None:
        mine, theirs = (score[0], score[1]) if winner == sides[0] else (score[1], score[0])
        if mine <= theirs:
            raise ValidationError(
                f"{winner_path}: {_quote(winner)} scored {mine} against {theirs}; the winner must have the higher score"
            )
    return {
        "key": key,
        "state": state,
        "completed_at": completed_at,
        "winner": winner,
        "score": score,
    }


def _check_all_final(plan: _Plan) -> None:
    """A completed tournament freezes its standings; a lobby still open would change them."""
    places = [(f"matches[{i}]", m["state"]) for i, m in enumerate(plan.matches)]
    for i, series in enumerate(plan.series):
        places += [(f"series[{i}].games[{j}]", g["state"]) for j, g in enumerate(series["games"])]
    for where, state in places:
        if state in OPEN_STATES:
            raise ValidationError(
                f'{where}.state: "{state}" in a completed tournament; no match may be live or disputed'
            )


# --------------------------------------------------------------------------- import


def import_tournament(
    doc: object, progress: Callable[[int, int], None] | None = None, *, actor_id: int | None = None
) -> ImportResult:
    """Check the whole file, then write it in one transaction: all of it or (on any error)
    nothing. `progress(done, total)` counts lobbies and series games. The import is audited
    (`actor_id` None: the command line)."""
    try:
        plan = _check_document(doc)
        result = _insert(plan, progress)
        if plan.tournament["status"] == TournamentStatus.COMPLETED.value:
            from app.services.leaderboard import freeze_results

            freeze_results(result.tournament_id)
        audit.record(
            "tournament.imported",
            target_type="tournament",
            target_id=result.tournament_id,
            tournament_id=result.tournament_id,
            actor_id=actor_id,
            after={"slug": result.slug, "matches": len(result.matches), "series": len(result.series)},
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return result


def _insert(plan: _Plan, progress: Callable[[int, int], None] | None) -> ImportResult:
    total = plan.units
    done = 0

    def report() -> None:
        if progress is not None:
            progress(done, total)

    tournament = Tournament(**plan.tournament)
    db.session.add(tournament)
    try:
        db.session.flush()
    except IntegrityError:
        # Another import took the slug between our check and this insert.
        db.session.rollback()
        raise ValidationError(_slug_taken(plan.tournament["slug"])) from None
    tid = tournament.id
    report()

    if plan.participants:
        db.session.execute(insert(Participant), [{"tournament_id": tid, **p} for p in plan.participants])
    participant_ids: dict[str, int] = dict(
        db.session.execute(select(Participant.key, Participant.id).where(Participant.tournament_id == tid)).all()
    )

    if plan.matches:
        db.session.execute(
            insert(Match),
            [
                {
                    "tournament_id": tid,
                    "key": m["key"],
                    "stage": m["stage"],
                    "state": m["state"],
                    "completed_at": m["completed_at"],
                    "position": i,
                }
                for i, m in enumerate(plan.matches)
            ],
        )
        lobby_ids = _match_ids(tid)
        rows: list[dict[str, Any]] = []
        for m in plan.matches:
            match_id = lobby_ids[m["key"]]
            rows.extend(
                {
                    "match_id": match_id,
                    "participant_id": participant_ids[r["participant"]],
                    "placement": r["placement"],
                    "kills": r["kills"],
                }
                for r in m["results"]
            )
            done += 1
            if len(rows) >= RESULT_CHUNK:
                db.session.execute(insert(MatchResult), rows)
                rows = []
                report()
        if rows:
            db.session.execute(insert(MatchResult), rows)
        report()

    if plan.adjustments:
        db.session.execute(
            insert(PointAdjustment),
            [
                {
                    "tournament_id": tid,
                    "participant_id": participant_ids[a["participant"]],
                    "points": a["points"],
                    "reason": a["reason"],
                }
                for a in plan.adjustments
            ],
        )

    series_ids: dict[str, int] = {}
    if plan.series:
        db.session.execute(
            insert(Series),
            [
                {
                    "tournament_id": tid,
                    "key": s["key"],
                    "name": s["name"],
                    "best_of": s["best_of"],
                    "participant_a_id": participant_ids[s["participants"][0]],
                    "participant_b_id": participant_ids[s["participants"][1]],
                    "forfeit_winner_id": participant_ids[s["forfeit_winner"]] if s["forfeit_winner"] else None,
                    "position": i,
                }
                for i, s in enumerate(plan.series)
            ],
        )
        series_ids = dict(db.session.execute(select(Series.key, Series.id).where(Series.tournament_id == tid)).all())
        game_rows = [
            {
                "tournament_id": tid,
                "key": g["key"],
                "stage": None,
                "state": g["state"],
                "completed_at": g["completed_at"],
                "position": j,
                "series_id": series_ids[s["key"]],
                "game_number": j + 1,
                "winner_id": participant_ids[g["winner"]] if g["winner"] else None,
                "score_a": g["score"][0] if g["score"] else None,
                "score_b": g["score"][1] if g["score"] else None,
            }
            for s in plan.series
            for j, g in enumerate(s["games"])
        ]
        if game_rows:
            db.session.execute(insert(Match), game_rows)
        done += len(game_rows)
        report()

    all_ids = _match_ids(tid)
    ordered_keys = [m["key"] for m in plan.matches] + [g["key"] for s in plan.series for g in s["games"]]
    return ImportResult(
        tournament_id=tid,
        slug=plan.tournament["slug"],
        matches={key: all_ids[key] for key in ordered_keys},
        series={s["key"]: series_ids[s["key"]] for s in plan.series},
    )


def _match_ids(tournament_id: int) -> dict[str, int]:
    return dict(db.session.execute(select(Match.key, Match.id).where(Match.tournament_id == tournament_id)).all())


# --------------------------------------------------------------------------- files


def load_file(path: str) -> object:
    """Read a tournament file; every way it can be unreadable becomes one line naming it."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise ValidationError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ValidationError(f"{path}: is a directory, not a tournament file") from None
    except PermissionError:
        raise ValidationError(f"{path}: cannot read the file (permission denied)") from None
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    return parse_json(data, path)


def parse_json(data: bytes | str, source: str) -> object:
    """Strict JSON: no NaN/Infinity, no repeated key in an object (the first value would be
    silently lost), UTF-8 with or without a byte-order mark."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError(f"{source}: not UTF-8 text (bad byte at offset {exc.start})") from None
    else:
        text = data
    if not text.strip():
        raise ValidationError(f"{source}: the file is empty; expected a JSON object")

    def refuse_constant(name: str) -> object:
        raise ValidationError(f"{source}: invalid JSON: {name} is not a JSON number")

    def whole(digits: str) -> int:
        try:
            return json_int(digits)
        except ValidationError as exc:
            raise ValidationError(f"{source}: {exc.message}") from None

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                raise ValidationError(f"{source}: invalid JSON: the key {_quote(key)} appears twice in one object")
            obj[key] = value
        return obj

    try:
        return json.loads(text, parse_constant=refuse_constant, object_pairs_hook=no_duplicates, parse_int=whole)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise ValidationError(f"{source}: invalid JSON: nested too deeply") from None


# --------------------------------------------------------------------------- export


def export_tournament(slug: str) -> dict[str, Any]:
    """The tournament as a file that imports back to the same standings (overrides of final
    results are not part of the format and are not exported)."""
    tournament = db.session.scalar(select(Tournament).where(Tournament.slug == slug))
    if tournament is None:
        raise NotFound(f"no tournament with slug {_quote(slug)}")
    tid = tournament.id
    is_br = tournament.game in BATTLE_ROYALE_GAMES

    info: dict[str, Any] = {
        "name": tournament.name,
        "slug": tournament.slug,
        "game": tournament.game,
        "status": tournament.status,
    }
    if tournament.advancing is not None:
        info["advancing"] = tournament.advancing
    if is_br:
        preset = tournament.scoring_preset or scoring.DEFAULT_PRESET[tournament.game]
        info["scoring"] = {"preset": preset}
        if preset == "custom":
            info["scoring"].update(
                placement_points=list(tournament.placement_points or []),
                kill_points=tournament.kill_points,
                tiebreakers=list(tournament.tiebreakers or []),
            )

    participants = db.session.scalars(
        select(Participant)
        .where(Participant.tournament_id == tid, is_visible(Participant.id, tid))
        .order_by(Participant.id)
    ).all()
    key_of = {p.id: p.key for p in participants}
    doc: dict[str, Any] = {
        "format": FORMAT,
        "tournament": info,
        "participants": [
            {"id": p.key, "name": p.name, **({"tag": p.tag} if p.tag is not None else {})} for p in participants
        ],
    }

    if is_br:
        doc["matches"] = _export_lobbies(tid, key_of)
        adjustments = db.session.scalars(
            select(PointAdjustment).where(PointAdjustment.tournament_id == tid).order_by(PointAdjustment.id)
        ).all()
        doc["adjustments"] = [
            {"participant": key_of[a.participant_id], "points": a.points, "reason": a.reason} for a in adjustments
        ]
    else:
        doc["series"] = _export_series(tid, key_of)
    return doc


def _export_lobbies(tournament_id: int, key_of: dict[int, str]) -> list[dict[str, Any]]:
    lobbies = db.session.execute(
        select(Match.id, Match.key, Match.stage, Match.state, Match.completed_at)
        # A voided lobby was entered by mistake; the file has no way to say so, and exporting it
        # as played would make it count again on import.
        .where(Match.tournament_id == tournament_id, Match.series_id.is_(None), Match.voided_at.is_(None))
        .order_by(Match.position, Match.id)
    ).all()
    results: dict[int, list[dict[str, Any]]] = {row.id: [] for row in lobbies}
    rows = db.session.execute(
        select(MatchResult.match_id, MatchResult.participant_id, MatchResult.placement, MatchResult.kills)
        .join(Match, Match.id == MatchResult.match_id)
        .where(Match.tournament_id == tournament_id, Match.series_id.is_(None), Match.voided_at.is_(None))
        .order_by(MatchResult.match_id, MatchResult.placement)
    )
    for match_id, participant_id, placement, kills in rows:
        results[match_id].append({"participant": key_of[participant_id], "placement": placement, "kills": kills})
    return [
        {
            "key": row.key,
            "stage": row.stage,
            "state": row.state,
            "completed_at": format_timestamp(row.completed_at),
            "results": results[row.id],
        }
        for row in lobbies
    ]


def _export_series(tournament_id: int, key_of: dict[int, str]) -> list[dict[str, Any]]:
    all_series = db.session.scalars(
        select(Series).where(Series.tournament_id == tournament_id).order_by(Series.position, Series.id)
    ).all()
    games: dict[int, list[Match]] = {s.id: [] for s in all_series}
    for game in db.session.scalars(
        select(Match)
        .where(Match.tournament_id == tournament_id, Match.series_id.is_not(None))
        .order_by(Match.series_id, Match.game_number, Match.id)
    ):
        games[game.series_id].append(game)  # type: ignore[index]

    exported = []
    for s in all_series:
        side_a, side_b = key_of[s.participant_a_id], key_of[s.participant_b_id]
        entry: dict[str, Any] = {"key": s.key}
        if s.name:
            entry["name"] = s.name
        entry.update(
            best_of=s.best_of,
            participants=[side_a, side_b],
            forfeit_winner=key_of.get(s.forfeit_winner_id) if s.forfeit_winner_id else None,
            games=[
                {
                    "key": g.key,
                    "state": g.state,
                    "completed_at": format_timestamp(g.completed_at),
                    "winner": key_of.get(g.winner_id) if g.winner_id else None,
                    "score": (
                        {side_a: g.score_a, side_b: g.score_b}
                        if g.score_a is not None and g.score_b is not None
                        else None
                    ),
                }
                for g in games[s.id]
            ],
        )
        exported.append(entry)
    return exported
