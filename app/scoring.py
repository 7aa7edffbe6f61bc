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
"""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import ValidationError

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


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
