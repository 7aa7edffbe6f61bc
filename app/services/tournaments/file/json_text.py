"""Reading a tournament file's bytes as JSON: strict, and every way it can be unreadable
becomes one line naming the file (no NaN or Infinity, no key twice in one object, numbers of
sane length, UTF-8 with or without a byte-order mark)."""

from __future__ import annotations

from app.errors import ValidationError
from app.services.inputs import strict_json


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
    """Strict JSON (`strict_json`: no NaN/Infinity, no repeated key, numbers of sane length,
    each refusal naming its place), UTF-8 with or without a byte-order mark."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError(f"{source}: not UTF-8 text (bad byte at offset {exc.start})") from None
    else:
        text = data
    if not text.strip():
        raise ValidationError(f"{source}: the file is empty; expected a JSON object")

    return strict_json.loads(text, source)
