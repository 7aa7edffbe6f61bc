"""Reading a tournament file's bytes as JSON: strict, and every way it can be unreadable
becomes one line naming the file (no NaN or Infinity, no key twice in one object, numbers of
sane length, UTF-8 with or without a byte-order mark)."""

from __future__ import annotations

import json
from typing import Any

from app.errors import ValidationError
from app.services.inputs.fieldspec import quote as _quote
from app.services.inputs.numbers import json_int


def load_file(path: str) -> object:
    """Read a tournament file; every way it can be unreadable becomes one line naming it."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise ValidationError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ValidationError(f"{path}: is a directory, not a tournament file") from None
    except PermissionError:
        raise ValidationError(f"{path}: cannot read the file (permission denied)") from None
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    return parse_json(data, path)


def parse_json(data: bytes | str, source: str) -> object:
    """Strict JSON: no NaN/Infinity, no repeated key in an object (the first value would be
    silently lost), UTF-8 with or without a byte-order mark."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError(f"{source}: not UTF-8 text (bad byte at offset {exc.start})") from None
    else:
        text = data
    if not text.strip():
        raise ValidationError(f"{source}: the file is empty; expected a JSON object")

    def refuse_constant(name: str) -> object:
        raise ValidationError(f"{source}: invalid JSON: {name} is not a JSON number")

    def whole(digits: str) -> int:
        try:
            return json_int(digits)
        except ValidationError as exc:
            raise ValidationError(f"{source}: {exc.message}") from None

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                raise ValidationError(f"{source}: invalid JSON: the key {_quote(key)} appears twice in one object")
            obj[key] = value
        return obj

    try:
        return json.loads(text, parse_constant=refuse_constant, object_pairs_hook=no_duplicates, parse_int=whole)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise ValidationError(f"{source}: invalid JSON: nested too deeply") from None
