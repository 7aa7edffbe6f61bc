"""Standings downloads: the rows the page shows now (app.services.standings.shown: the live standings, or
the final results with overrides once completed), as CSV or JSON, in the API's standings fields.

Rule: a spreadsheet must never run a cell (app.services.support.spreadsheet says how cells are made safe;
numbers stay numbers, so a negative adjustment stays `-3`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from app.services.standings.engine import STANDINGS_FIELDS
from app.services.support.spreadsheet import safe_cell

CSV_COLUMNS = STANDINGS_FIELDS


def standings_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([safe_cell(row.get(column)) for column in CSV_COLUMNS])
    return out.getvalue()


# A final-results row also says whether staff placed it, and why.
_FINAL_FIELDS = ("is_override", "override_reason")


def standings_json(rows: list[dict[str, Any]]) -> str:
    shaped = [
        {name: row.get(name) for name in (*CSV_COLUMNS, *(_FINAL_FIELDS if row.get("final") else ()))} for row in rows
    ]
    return json.dumps(shaped, ensure_ascii=False, indent=2) + "\n"


def download_name(slug: str, stage: str | None, match_keys: tuple[str, ...], extension: str) -> str:
    """`<slug>-standings[-<stage>][-matches].<ext>`, ASCII-safe for Content-Disposition."""
    parts = [slug, "standings"]
    if stage:
        cleaned = re.sub(r"[^A-Za-z0-9]+", "-", stage).strip("-").lower()
        parts.append(cleaned or "stage")
    if match_keys:
        parts.append("selected-matches")
    return "-".join(parts) + "." + extension
