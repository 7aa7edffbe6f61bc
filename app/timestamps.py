"""One textual form for times everywhere (files, API, CLI): ISO 8601 in UTC with `Z`, whole
seconds unless the stored time has a fraction (then milliseconds, or microseconds if needed), so
two different times never print the same."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_z(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        if value.microsecond % 1000 == 0:
            text += f".{value.microsecond // 1000:03d}"
        else:
            text += f".{value.microsecond:06d}"
    return text + "Z"
