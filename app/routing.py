"""URL converters every blueprint shares.

`<dbid:name>` is the one rule for a database id in a URL: 1..2**31-1 (the columns are 32-bit),
leading zeros allowed, bounded by the pattern itself. With `int(max=...)` Werkzeug matched the
method before the bound, so `DELETE .../adjustments/2147483648/` answered 405 naming PATCH
instead of 404; a pattern that cannot match a larger number answers 404 on every method.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

from app.models import MAX_ID
from app.services.inputs.fieldspec import decimal_at_most


class DatabaseId(IntegerConverter):
    regex = f"0*(?:{decimal_at_most(MAX_ID)})"
    part_isolating = True

    def to_python(self, value: str) -> int:
        return int(value)  # the pattern admits only ids in range


def init_app(app: Flask) -> None:
    app.url_map.converters["dbid"] = DatabaseId
