"""The tie notes a board writes in English: where a row is level on points with the row above, the
deciding key (`decided_by`) is written out with both teams' values; a rank shared on every key
says so. The words for the keys and places are app/scoring.py's, as on every page."""

from __future__ import annotations

from typing import Any

from app.scoring import ordinal, tiebreak_label
from app.services.standings.engine import CountedResults


def _tiebreak_values(key: str, above: dict[str, Any], row: dict[str, Any], counted: CountedResults) -> str:
    if key == "wins":
        return f"{above['wins']} vs {row['wins']}"
    if key == "placement_points":
        return f"{above['placement_points']} vs {row['placement_points']}"
    if key == "total_kills":
        return f"{above['total_kills']} vs {row['total_kills']}"
    if key == "best_placement":
        return f"{ordinal(above['best_placement'])} vs {ordinal(row['best_placement'])}"
    if key == "avg_placement":
        return f"{above['avg_placement']:.2f} vs {row['avg_placement']:.2f}"
    if key == "last_match_placement":
        a = counted.placements.get(above["participant_id"], {})
        b = counted.placements.get(row["participant_id"], {})
        for i in range(len(counted.match_order) - 1, -1, -1):
            if a.get(i) != b.get(i):
                match_key = counted.match_keys[counted.match_order[i]]

                def shown(p: int | None) -> str:
                    return ordinal(p) if p is not None else "did not play"

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
    label = tiebreak_label(key, game)
    values = _tiebreak_values(key, above, row, counted)
    return f"Level on {points} pts with {above['participant_name']}, who are ahead on {label}" + (
        f", {values}." if values else "."
    )
