"""Standings downloads: the same rows as the API and CLI (`--json`), as CSV or JSON.

Rule: a spreadsheet must never run a cell. Any text cell starting with `=`, `+`, `-`, `@`, a tab
or a carriage return (what Excel, LibreOffice and Google Sheets read as a formula or strip before
reading one) is written with a leading `'`, which spreadsheets show as text. Numbers are numbers
(a negative adjustment stays `-3`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

CSV_COLUMNS = (
    "rank",
    "participant_id",
    "participant_name",
    "total_points",
    "placement_points",
    "kill_points",
    "adjustment_points",
    "total_kills",
    "wins",
    "best_placement",
    "matches_played",
    "avg_placement",
    "tiebreaker_timestamp",
    "decided_by",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if value is None:
        return ""
    return value


def standings_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([safe_cell(row.get(column)) for column in CSV_COLUMNS])
    return out.getvalue()


def standings_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"


def download_name(slug: str, stage: str | None, match_keys: tuple[str, ...], extension: str) -> str:
    """`<slug>-standings[-<stage>][-matches].<ext>`, ASCII-safe for Content-Disposition."""
    parts = [slug, "standings"]
    if stage:
        cleaned = re.sub(r"[^A-Za-z0-9]+", "-", stage).strip("-").lower()
        parts.append(cleaned or "stage")
    if match_keys:
        parts.append("selected-matches")
    return "-".join(parts) + "." + extension
