"""Battle-royale scoring rules (contract §1). A pure rule with no database: it sits below the
services and the notification layer, which both word points (the ranking, a player's "21 pts").

Points for one team in one lobby = placement points for its placement + kills × kill points.
A placement past the end of the points table scores 0 placement points.

Presets:

- `ffws` (Free Fire World Series): 12 9 8 7 6 5 4 3 2 1 0 0, 1 per kill;
  tiebreakers wins, total_kills, last_match_placement.
- `pmgc` (PUBG Mobile Global Championship): 10 6 5 4 3 2 1 1 0 …, 1 per kill;
  tiebreakers wins, placement_points, total_kills, last_match_placement.
- `pubgm-2020` (PUBG Mobile 2020-2022): 15 12 10 8 6 4 2 1 1 1 1 1 0 …, 1 per kill;
  tiebreakers wins, placement_points, total_kills, last_match_placement.
- `deltacrown` (the seed's classic formula): 12 9 7 5 4 4 3 3 2 2 1 1 1 1 1 0 …, 1 per kill;
  tiebreakers total_kills, best_placement, earliest_completion.
- `custom`: table, kill points and tiebreakers given by the organiser.

`total_points` always ranks first; the tiebreakers follow in order, the first that differs
decides. Defaults: `ffws` for Free Fire, `pmgc` for PUBG Mobile.

A lobby counts toward the standings when it is completed and not voided (`Ruleset.counts`, and
`Ruleset.counts_clause()` for a query): a disputed, live, scheduled or cancelled lobby, or one
voided as entered by mistake, scores nothing. The standings, the lobby check, the corrections,
the state moves and the notifications all ask here, and word a tiebreaker and a place with
`tiebreak_label` and `ordinal` (the board's tie notes and the public templates alike).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_

from app.errors import ValidationError
from app.models import Match, MatchState

TIEBREAKER_KEYS: tuple[str, ...] = (
    "wins",
    "placement_points",
    "total_kills",
    "best_placement",
    "avg_placement",
    "last_match_placement",
    "earliest_completion",
)


@dataclass(frozen=True)
class Ruleset:
    preset: str
    placement_points: tuple[int, ...]
    kill_points: int
    tiebreakers: tuple[str, ...]

    def placement_score(self, placement: int) -> int:
        if 1 <= placement <= len(self.placement_points):
            return self.placement_points[placement - 1]
        return 0

    def kill_score(self, kills: int) -> int:
        return kills * self.kill_points

    def lobby_points(self, placement: int, kills: int) -> int:
        """A team's points for one lobby: placement points + kills x kill points."""
        return self.placement_score(placement) + self.kill_score(kills)

    @staticmethod
    def counts(state: str, voided: bool = False) -> bool:
        """Whether a lobby in `state` counts toward the standings (voided: never)."""
        return state == MatchState.COMPLETED.value and not voided

    @staticmethod
    def lobby_counts(match: Match) -> bool:
        return Ruleset.counts(match.state, match.voided_at is not None)

    @staticmethod
    def counts_clause() -> ColumnElement[bool]:
        """`counts` as a WHERE clause on `Match`."""
        return and_(Match.state == MatchState.COMPLETED.value, Match.voided_at.is_(None))


PRESETS: dict[str, Ruleset] = {
    "ffws": Ruleset("ffws", (12, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0), 1, ("wins", "total_kills", "last_match_placement")),
    "pmgc": Ruleset(
        "pmgc", (10, 6, 5, 4, 3, 2, 1, 1), 1, ("wins", "placement_points", "total_kills", "last_match_placement")
    ),
    "pubgm-2020": Ruleset(
        "pubgm-2020",
        (15, 12, 10, 8, 6, 4, 2, 1, 1, 1, 1, 1),
        1,
        ("wins", "placement_points", "total_kills", "last_match_placement"),
    ),
    "deltacrown": Ruleset(
        "deltacrown",
        (12, 9, 7, 5, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1),
        1,
        ("total_kills", "best_placement", "earliest_completion"),
    ),
}
PRESET_NAMES: tuple[str, ...] = (*PRESETS, "custom")
DEFAULT_PRESET = {"freefire": "ffws", "pubgm": "pmgc"}

MAX_PLACEMENT_TABLE = 100
MAX_POINTS = 1000


def validate_custom(
    placement_points: object, kill_points: object, tiebreakers: object, where: str = "scoring"
) -> Ruleset:
    """Check an organiser's own table; messages name the field so a file can be fixed."""
    if not isinstance(placement_points, list) or not placement_points:
        raise ValidationError(f"{where}.placement_points: must be a non-empty list of integers")
    if len(placement_points) > MAX_PLACEMENT_TABLE:
        raise ValidationError(f"{where}.placement_points: at most {MAX_PLACEMENT_TABLE} entries")
    for i, value in enumerate(placement_points):
        if not _is_int(value) or not 0 <= value <= MAX_POINTS:
            raise ValidationError(f"{where}.placement_points[{i}]: must be an integer from 0 to {MAX_POINTS}")
    if not _is_int(kill_points) or not 0 <= kill_points <= MAX_POINTS:
        raise ValidationError(f"{where}.kill_points: must be an integer from 0 to {MAX_POINTS}")
    if not isinstance(tiebreakers, list):
        raise ValidationError(f"{where}.tiebreakers: must be a list of tiebreaker keys")
    seen: set[str] = set()
    for i, key in enumerate(tiebreakers):
        if key == "total_points":
            raise ValidationError(f"{where}.tiebreakers[{i}]: total_points always ranks first; do not list it")
        if key not in TIEBREAKER_KEYS:
            raise ValidationError(
                f"{where}.tiebreakers[{i}]: unknown key {key!r}; use one of {', '.join(TIEBREAKER_KEYS)}"
            )
        if key in seen:
            raise ValidationError(f"{where}.tiebreakers[{i}]: {key!r} is listed twice")
        seen.add(key)
    return Ruleset("custom", tuple(placement_points), kill_points, tuple(tiebreakers))


def ruleset_for(game: str, preset: str | None, placement_points=None, kill_points=None, tiebreakers=None) -> Ruleset:
    """The ruleset a tournament scores with (its preset, or the game's default)."""
    name = preset or DEFAULT_PRESET.get(game)
    if name is None:
        raise ValidationError(f"{game} is not a battle-royale game; it has no scoring preset")
    if name == "custom":
        return validate_custom(placement_points, kill_points, tiebreakers or [])
    try:
        return PRESETS[name]
    except KeyError:
        raise ValidationError(f"unknown scoring preset {name!r}; use one of {', '.join(PRESET_NAMES)}") from None


def tournament_ruleset(tournament: Any) -> Ruleset:
    """The ruleset a tournament's own columns set (preset or custom table)."""
    return ruleset_for(
        tournament.game,
        tournament.scoring_preset,
        tournament.placement_points,
        tournament.kill_points,
        tournament.tiebreakers,
    )


# --------------------------------------------------------------------------- wording

WINS_WORDS = {"freefire": "Booyahs", "pubgm": "WWCD"}

TIEBREAK_LABELS = {
    "wins": "wins",
    "placement_points": "placement points",
    "total_kills": "total kills",
    "best_placement": "best placement",
    "avg_placement": "average placement",
    "last_match_placement": "placement in the most recent match where they differ",
    "earliest_completion": "finishing their last counted match earlier",
}


def wins_word(game: str, default: str = "wins") -> str:
    """What the game calls a lobby win: Booyahs in Free Fire, WWCD in PUBG Mobile."""
    return WINS_WORDS.get(game, default)


def tiebreak_label(key: str, game: str) -> str:
    """A tiebreaker key in words, the game's word for wins included."""
    if key == "wins":
        return wins_word(game)
    return TIEBREAK_LABELS.get(key, key.replace("_", " "))


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
