"""CSV that is safe to open in a spreadsheet.

Rule: Excel, LibreOffice and Sheets read a cell starting with `=`, `+`, `-`, `@` or a control
character (tab, CR, LF) as a formula, so a team named `=HYPERLINK(...)` could run one on the
organiser's computer (CSV injection). Such text cells get a leading apostrophe, which
spreadsheets show as plain text. Numbers stay numbers (a -5 adjustment is data, not a formula).
"""

from __future__ import annotations

from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
