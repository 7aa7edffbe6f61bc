"""Checking a tournament file against its rules (contract §2), before anything is written.

A file is checked completely and refused whole: organisers fix a file and import it again, so a
half-imported tournament would only be something to clean up. Every message starts with the
JSON path of the offending place (`matches[3].results[2].placement: must be >= 1`), because the
person reading it has the file open in an editor, not our source code. The field rules (limits,
choices, allowed keys) are declared in `rules.py`; this module applies them and the rules
between fields. Unknown keys are refused everywhere: a misspelt `"completd_at"` silently
ignored would change the standings without anyone noticing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import has_app_context
from sqlalchemy import select

from app import scoring
from app.errors import ValidationError
from app.extensions import db
from app.models import BATTLE_ROYALE_GAMES, MatchState, Tournament, TournamentStatus
from app.services.inputs.fieldspec import Obj
from app.services.inputs.fieldspec import describe as _describe
from app.services.inputs.fieldspec import join as _join
from app.services.inputs.fieldspec import quote as _quote
from app.services.inputs.text import name_key
from app.services.tournaments.file.rules import (
    ADJUSTMENT,
    BR_GAMES,
    CUSTOM_ONLY_KEYS,
    DOCUMENT,
    FILE_LOBBY,
    FORMAT,
    GAME,
    LOBBY,
    OPEN_STATES,
    PARTICIPANT,
    RESULT,
    SCORE,
    SCORING,
    SERIES,
    STATES_WITH_TIME,
    STATES_WITHOUT_TIME,
    TOURNAMENT,
    Advancing,
)

_PLACEMENT = RESULT.members["placement"].rule
_KILLS = RESULT.members["kills"].rule
_RESULT_KEYS = RESULT.members.keys()
_ADVANCING = Advancing()


def _required(obj: dict[str, Any], key: str, where: str) -> object:
    if key not in obj:
        raise ValidationError(f"{_join(where, key)}: required")
    return obj[key]


def _participant_ref(value: object, path: str, participant_keys: set[str] | frozenset[str]) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{path}: must be a participant id (a string), found {_describe(value)}")
    if value not in participant_keys:
        raise ValidationError(f"{path}: unknown participant {_quote(value)}; declare it in participants")
    return value


def _state_and_time(obj: dict[str, Any], where: str, rule: Obj) -> tuple[str, datetime | None]:
    """A lobby's or game's state and end time (`rule`: LOBBY or GAME, which declare both)."""
    state = rule.get(obj, "state", where)
    completed_at = rule.get(obj, "completed_at", where)
    if state in STATES_WITH_TIME and completed_at is None:
        raise ValidationError(f'{_join(where, "completed_at")}: required when state is "{state}"')
    if state in STATES_WITHOUT_TIME and completed_at is not None:
        raise ValidationError(f'{_join(where, "completed_at")}: must be null when state is "{state}"')
    return state, completed_at


def _key(obj: dict[str, Any], where: str, taken: Iterable[str], required: bool, rule: Obj) -> str | None:
    path = _join(where, "key")
    value = obj.get("key")
    if value is None:
        if required:
            raise ValidationError(f"{path}: required")
        return None
    text = rule.members["key"].rule.check(value, path)
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
    obj = (FILE_LOBBY if require_key else LOBBY).check(entry, where)
    key = _key(obj, where, existing_keys, require_key, LOBBY)
    stage = LOBBY.get(obj, "stage", where)
    state, completed_at = _state_and_time(obj, where, LOBBY)

    results_path = _join(where, "results")
    raw_results = LOBBY.get(obj, "results", where) or []
    if state in STATES_WITH_TIME and not raw_results:
        raise ValidationError(f'{results_path}: a lobby whose state is "{state}" needs at least one result')

    results: list[dict[str, Any]] = []
    seen_participant: dict[str, int] = {}
    seen_placement: dict[int, int] = {}
    # The rules' own bounds, read once: a row that plainly passes every rule is taken without
    # building its four message paths (100,000 rows: ~10 % of the whole check).
    p_low, p_high, k_low, k_high = _PLACEMENT.low, _PLACEMENT.high, _KILLS.low, _KILLS.high
    for i, raw in enumerate(raw_results):
        if type(raw) is dict and raw.keys() == _RESULT_KEYS:
            participant, placement, kills = raw["participant"], raw["placement"], raw["kills"]
            if (
                type(placement) is int
                and p_low <= placement <= p_high
                and type(kills) is int
                and k_low <= kills <= k_high
                and type(participant) is str
                and participant in participant_keys
                and participant not in seen_participant
                and placement not in seen_placement
            ):
                seen_participant[participant] = i
                seen_placement[placement] = i
                results.append({"participant": participant, "placement": placement, "kills": kills})
                continue
        path = f"{results_path}[{i}]"
        row = RESULT.check(raw, path)
        participant = _participant_ref(_required(row, "participant", path), f"{path}.participant", participant_keys)
        if participant in seen_participant:
            raise ValidationError(
                f"{path}.participant: {_quote(participant)} is listed twice in this lobby "
                f"(also results[{seen_participant[participant]}])"
            )
        seen_participant[participant] = i
        placement = _PLACEMENT.check(_required(row, "placement", path), f"{path}.placement")
        if placement in seen_placement:
            raise ValidationError(
                f"{path}.placement: placement {placement} is also given to results[{seen_placement[placement]}]"
            )
        seen_placement[placement] = i
        kills = _KILLS.check(_required(row, "kills", path), f"{path}.kills")
        results.append({"participant": participant, "placement": placement, "kills": kills})

    return {"key": key, "stage": stage, "state": state, "completed_at": completed_at, "results": results}


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
    top = DOCUMENT.check(doc, "", root="document")
    fmt = _required(top, "format", "")
    if fmt != FORMAT:
        found = _quote(fmt) if isinstance(fmt, str) else _describe(fmt)
        raise ValidationError(f"format: must be {_quote(FORMAT)}, found {found}")

    tournament = _check_tournament(DOCUMENT.raw(top, "tournament", ""))
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
        for i, entry in enumerate(DOCUMENT.get(top, "matches", "")):
            match = validate_match_entry(entry, f"matches[{i}]", keys, taken, require_key=True)
            taken.add(match["key"])
            plan.matches.append(match)
    if top.get("adjustments") is not None and is_br:
        for i, entry in enumerate(DOCUMENT.get(top, "adjustments", "")):
            plan.adjustments.append(_check_adjustment(entry, f"adjustments[{i}]", keys))
    if top.get("series") is not None and not is_br:
        series_keys: set[str] = set()
        for i, entry in enumerate(DOCUMENT.get(top, "series", "")):
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
    obj = TOURNAMENT.check(value, "tournament")
    name = TOURNAMENT.get(obj, "name", "tournament")
    slug = TOURNAMENT.get(obj, "slug", "tournament")
    game = TOURNAMENT.get(obj, "game", "tournament")
    status = TOURNAMENT.get(obj, "status", "tournament")
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

    scoring_obj = SCORING.check({} if raw_scoring is None else raw_scoring, "tournament.scoring")
    preset = SCORING.get(scoring_obj, "preset", "tournament.scoring") or scoring.DEFAULT_PRESET[game]
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
    return _ADVANCING.check(value, path)


def _check_participants(value: object) -> list[dict[str, Any]]:
    if value is None:
        return []
    participants: list[dict[str, Any]] = []
    ids: dict[str, int] = {}
    names: dict[str, int] = {}
    for i, raw in enumerate(DOCUMENT.members["participants"].rule.check(value, "participants")):
        path = f"participants[{i}]"
        obj = PARTICIPANT.check(raw, path)
        key = PARTICIPANT.get(obj, "id", path)
        if key in ids:
            raise ValidationError(f"{path}.id: duplicate id {_quote(key)} (also participants[{ids[key]}])")
        ids[key] = i
        name = PARTICIPANT.get(obj, "name", path)
        # Standings sort equal teams by name, so two teams called alike would be told apart
        # by nobody reading them.
        folded = name_key(name)
        if folded in names:
            raise ValidationError(
                f"{path}.name: duplicate name {_quote(name)} (also participants[{names[folded]}]; "
                "names must differ, ignoring case, width and invisible characters)"
            )
        names[folded] = i
        tag = PARTICIPANT.get(obj, "tag", path)
        participants.append({"key": key, "name": name, "tag": tag})
    return participants


def _check_adjustment(value: object, where: str, participant_keys: set[str]) -> dict[str, Any]:
    obj = ADJUSTMENT.check(value, where)
    participant = _participant_ref(ADJUSTMENT.raw(obj, "participant", where), f"{where}.participant", participant_keys)
    points = ADJUSTMENT.get(obj, "points", where)
    reason = ADJUSTMENT.get(obj, "reason", where)
    return {"participant": participant, "points": points, "reason": reason}


def _check_series(value: object, where: str, participant_keys: set[str], taken: set[str]) -> dict[str, Any]:
    obj = SERIES.check(value, where)
    key = SERIES.get(obj, "key", where)
    name = SERIES.get(obj, "name", where) or ""
    best_of: int = SERIES.get(obj, "best_of", where)

    pair_path = f"{where}.participants"
    pair = SERIES.get(obj, "participants", where)
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
    raw_games = SERIES.get(obj, "games", where) or []
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
    obj = GAME.check(value, where)
    key = _key(obj, where, taken, True, GAME)
    state, completed_at = _state_and_time(obj, where, GAME)

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
            SCORE.check(raw_score[sides[0]], _join(score_path, sides[0])),
            SCORE.check(raw_score[sides[1]], _join(score_path, sides[1])),
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
