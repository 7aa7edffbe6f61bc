"""The tie notes a board writes in English: where a row is level on points with the row above, the
deciding key (`decided_by`) is written out with both teams' values; a rank shared on every key
says so. Free Fire calls wins Booyahs, PUBG Mobile WWCD."""

from __future__ import annotations

from typing import Any

from app.services.standings.engine import CountedResults


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


TIEBREAK_LABELS = {
    "wins": "wins",
    "placement_points": "placement points",
    "total_kills": "total kills",
    "best_placement": "best placement",
    "avg_placement": "average placement",
    "last_match_placement": "placement in the most recent match where they differ",
    "earliest_completion": "finishing their last counted match earlier",
}


def wins_word(game: str) -> str:
    return {"freefire": "Booyahs", "pubgm": "WWCD"}.get(game, "wins")


def _tiebreak_values(key: str, above: dict[str, Any], row: dict[str, Any], counted: CountedResults) -> str:
    if key == "wins":
        return f"{above['wins']} vs {row['wins']}"
    if key == "placement_points":
        return f"{above['placement_points']} vs {row['placement_points']}"
    if key == "total_kills":
        return f"{above['total_kills']} vs {row['total_kills']}"
    if key == "best_placement":
        return f"{_ordinal(above['best_placement'])} vs {_ordinal(row['best_placement'])}"
    if key == "avg_placement":
        return f"{above['avg_placement']:.2f} vs {row['avg_placement']:.2f}"
    if key == "last_match_placement":
        a = counted.placements.get(above["participant_id"], {})
        b = counted.placements.get(row["participant_id"], {})
        for i in range(len(counted.match_order) - 1, -1, -1):
            if a.get(i) != b.get(i):
                match_key = counted.match_keys[counted.match_order[i]]

                def shown(p: int | None) -> str:
                    return _ordinal(p) if p is not None else "did not play"

                return f"{shown(a.get(i))} vs {shown(b.get(i))} in match {match_key}"
        return ""
    if key == "earliest_completion":
        a, b = (_when(r.get("tiebreaker_timestamp")) for r in (above, row))
        return f"{a} vs {b}"
    return ""


def _when(stamp: str | None) -> str:
    return stamp.replace("T", " ").replace("Z", " UTC") if stamp else "—"


def tie_note(row: dict[str, Any], above: dict[str, Any] | None, counted: CountedResults, game: str) -> str | None:
    """The visible sentence for a row level on points with the row above (None otherwise)."""
    if above is None:
        return None
    points = row["total_points"]
    if row["decided_by"] is None:
        return (
            f"Level on {points} pts with {above['participant_name']} and on every tiebreaker: "
            f"they share rank {row['rank']}."
        )
    key = row["decided_by"]
    if key == "total_points":
        return None
    label = wins_word(game) if key == "wins" else TIEBREAK_LABELS.get(key, key.replace("_", " "))
    values = _tiebreak_values(key, above, row, counted)
    return f"Level on {points} pts with {above['participant_name']}, who are ahead on {label}" + (
        f", {values}." if values else "."
    )
