"""Comma-separated lines pasted by staff (teams, a lobby's results).

Rule: any line ending is a line break: CR LF, LF and a bare CR (what an old Mac export or a
spreadsheet copied on one platform and pasted on another leaves) all end a line, so a bare CR
never reaches the csv module, which refuses it outside quotes. Any other line the csv module
cannot read (a field past its size limit, a stray quote in strict mode) is a ValidationError
naming the field and the line, never a `_csv.Error` and a 500.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from app.errors import ValidationError

_LINE_END = re.compile(r"\r\n?")


def rows(text: str, field: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) for each record of `text`; the number is the line it starts on."""
    reader = csv.reader(io.StringIO(_LINE_END.sub("\n", text)))
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValidationError(
                f"{field}: line {reader.line_num}: cannot be read as comma-separated values ({exc})"
            ) from None
        yield start, cells
        start = reader.line_num + 1
