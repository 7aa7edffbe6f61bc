"""The board's chart layout: cumulative points of the top teams (at most CHART_TEAMS, in standings
order) after each counted match; point adjustments, when counted, are one last step so the lines
end at the totals. With many matches the points are sampled (at most CHART_SAMPLES, the last
always); match labels are thinned so they never collide (CHART_X_LABELS, CHART_X_LABELS_PHONE on
a phone); the axis steps are round (1, 2 or 5 x 10^k)."""

from __future__ import annotations

from typing import Any

from app.services.standings.engine import CountedResults

CHART_TEAMS = 10
CHART_SAMPLES = 120
CHART_X_LABELS = 12  # match labels under the chart at most (6 on a phone)
CHART_X_LABELS_PHONE = 6

# Chart geometry (SVG user units); the SVG scales to its container.
CHART_WIDTH = 720
CHART_HEIGHT = 320
CHART_PAD = {"left": 56, "right": 24, "top": 16, "bottom": 36}


def nice_range(low: int, high: int, ticks: int = 4) -> tuple[int, int, int]:
    """Axis bounds and a round step (1, 2 or 5 x 10^k) covering low..high in about `ticks` steps."""
    raw = max(1, (high - low) / ticks)
    magnitude = 10 ** (len(str(int(raw))) - 1)
    for m in (1, 2, 5, 10, 20):
        step = m * magnitude
        if -(-high // step) - (low // step) <= ticks + 1:
            break
    return (low // step) * step, -(-high // step) * step, step


def _spread(indexes: list[int], most: int) -> list[int]:
    """At most `most` of `indexes`, evenly spread, always the first and the last."""
    if len(indexes) <= most:
        return list(indexes)
    stride = (len(indexes) - 1) / (most - 1)
    return sorted({indexes[round(i * stride)] for i in range(most)})


def chart_for(rows: list[dict[str, Any]], counted: CountedResults) -> dict[str, Any] | None:
    if not rows or not counted.match_order:
        return None
    shown = rows[:CHART_TEAMS]
    keys = [row["participant_id"] for row in shown]
    key_of_pid = {pid: key for pid, (key, _name) in counted.names.items()}
    wanted = set(keys)
    index = {match_id: i for i, match_id in enumerate(counted.match_order)}
    per_match: dict[str, list[int]] = {key: [0] * len(counted.match_order) for key in keys}
    lobby_points = counted.ruleset.lobby_points
    for match_id, participant_id, placement, kills in counted.rows:
        key = key_of_pid[participant_id]
        if key in wanted:
            per_match[key][index[match_id]] += lobby_points(placement, kills)

    labels = [counted.match_keys[m] for m in counted.match_order]
    cumulative: dict[str, list[int]] = {}
    for key in keys:
        total, values = 0, [0]
        for points in per_match[key]:
            total += points
            values.append(total)
        cumulative[key] = values
    steps = ["start", *labels]
    adjusted = counted.adjustments is not None and any(row["adjustment_points"] for row in shown)
    if adjusted:
        for row in shown:
            cumulative[row["participant_id"]].append(cumulative[row["participant_id"]][-1] + row["adjustment_points"])
        steps.append("adjustments")

    count = len(steps)
    if count > CHART_SAMPLES:
        stride = (count - 1) / (CHART_SAMPLES - 1)
        picks = sorted({round(i * stride) for i in range(CHART_SAMPLES)} | {count - 1})
    else:
        picks = list(range(count))

    low, high, step = nice_range(
        min(0, *(min(v) for v in cumulative.values())), max(1, *(max(v) for v in cumulative.values()))
    )
    left, right, top, bottom = CHART_PAD["left"], CHART_PAD["right"], CHART_PAD["top"], CHART_PAD["bottom"]
    inner_w = CHART_WIDTH - left - right
    inner_h = CHART_HEIGHT - top - bottom

    def x(i: int) -> float:
        return left + (inner_w * i / (count - 1) if count > 1 else inner_w / 2)

    def y(v: int) -> float:
        return top + inner_h * (high - v) / (high - low)

    lines = []
    for n, row in enumerate(shown):
        values = cumulative[row["participant_id"]]
        points = " ".join(f"{x(i):.1f},{y(values[i]):.1f}" for i in picks)
        lines.append(
            {
                "name": row["participant_name"],
                "total": values[-1],
                "points": points,
                "colour": n,
                "end_x": f"{x(count - 1):.1f}",
                "end_y": f"{y(values[-1]):.1f}",
            }
        )
    ticks = [{"label": str(value), "y": f"{y(value):.1f}"} for value in range(low, high + 1, step)]
    # Each match is labelled under its point (thinned so labels never collide); "major" labels
    # are the ones a phone keeps.
    names = ["start", *labels, *(["adj."] if adjusted else [])]
    phone = set(_spread(picks, CHART_X_LABELS_PHONE))
    x_labels = [{"x": f"{x(i):.1f}", "label": names[i], "major": i in phone} for i in _spread(picks, CHART_X_LABELS)]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": left,
        "right": CHART_WIDTH - right,
        "top": top,
        "bottom": CHART_HEIGHT - bottom,
        "lines": lines,
        "ticks": ticks,
        "x_labels": x_labels,
        "matches": len(counted.match_order),
        "adjusted": adjusted,
        "sampled": count > CHART_SAMPLES,
        "more_teams": max(0, len(rows) - len(shown)),
        "first_label": steps[1] if len(steps) > 1 else "",
        "last_label": labels[-1] if labels else "",
    }
