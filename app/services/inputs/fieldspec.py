"""Field rules declared once: each rule object both checks a parsed JSON value (raising
ValidationError with a message that starts with the value's path, e.g.
`matches[3].results[2].placement: must be >= 1`) and states itself as JSON Schema.

Why our own small spec and not pydantic: the messages above are part of what organisers see
and what tests pin, and the import checks 100,000 results in a few hundred milliseconds; a
handful of plain classes keep both, and the JSON Schema they emit is exactly what they check.
Rules between fields (a participant that must be declared, placements unique in a lobby, ...)
stay in the code that checks a whole document; the schema says them in descriptions, and
tests/services/inputs/test_schema_corpus.py lists each one JSON Schema cannot state.

Text patterns are written so that any engine reads them the same way and test generators draw
from them quickly: negated classes only (no astral ranges, no surrogate escapes, no look-ahead).
The one text rule a portable pattern cannot state, "no unpaired UTF-16 surrogate" (a JSON escape
like `\\udc80` alone, which no database can store), is the format `storable-text`
(`FORMATS` below, what a validator registers to check it); generators cannot send such text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.errors import ValidationError
from app.services.inputs.text import MAX_JSON_DEPTH, check_name, storable

# What `str.strip()` removes (Python's str.isspace), and the characters `check_name` refuses.
WHITESPACE = (
    "\\t\\n\\u000b\\u000c\\r\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)
# With the invisible format characters of the BMP (category Cf) but the zero-width (non-)joiner,
# which `check_name` allows inside a word outside ASCII: a look-around the schemas avoid.
CONTROLS = (
    "\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890\\u0891"
    "\\u08e2\\u180e\\u200b\\u200e\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb"
)
# Whitespace a name may hold (the rest of WHITESPACE is control characters).
_NAME_WHITESPACE = " \\u00a0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000"

STORABLE_FORMAT = "storable-text"
FORMAT_DESCRIPTION = (
    f"`format: {STORABLE_FORMAT}`: text without an unpaired UTF-16 surrogate (a lone `\\udc80`-style "
    "JSON escape), which no database can store; the patterns refuse NUL"
)


def _storable_format(value: object) -> bool:
    return not isinstance(value, str) or storable(value)  # formats leave other types alone


# For validators: format name -> the check the server applies.
FORMATS = {STORABLE_FORMAT: _storable_format}

TEXT_PATTERN = "^[^\\u0000]*$"

# The names of keys a lenient body ignores, and their values (`storable_json_components`).
KEY_NAMES = {"type": "string", "format": STORABLE_FORMAT, "pattern": TEXT_PATTERN}
ANY_STORABLE = {"$ref": "#/components/schemas/StorableJson"}


def text_pattern(min_stripped: int = 0) -> str:
    """Text without NUL whose stripped length is at least `min_stripped` (0, 1 or more)."""
    if min_stripped <= 0:
        return TEXT_PATTERN
    visible = f"[^\\u0000{WHITESPACE}]"
    if min_stripped == 1:
        return f"^[^\\u0000]*{visible}[^\\u0000]*$"
    return f"^[^\\u0000]*{visible}[^\\u0000]{{{min_stripped - 2},}}{visible}[^\\u0000]*$"


NON_BLANK_PATTERN = text_pattern(1)


def padded_name_pattern(*, blank: bool = False) -> str:
    """A name the service checks as sent (`check_name`: no control character anywhere, a tab or
    line break around it included) and then trims: spaces around it are dropped. `blank`:
    nothing but spaces is fine too (an optional name)."""
    around = f"[{_NAME_WHITESPACE}]*"
    visible = f"[^{CONTROLS}{_NAME_WHITESPACE}]"
    core = f"{visible}(?:[^{CONTROLS}]*{visible})?"
    return f"^{around}(?:{core})?{around}$" if blank else f"^{around}{core}{around}$"


# One line of printable text with something visible in it (`check_name`).
NAME_PATTERN = f"^[^{CONTROLS}]*[^{CONTROLS}{_NAME_WHITESPACE}][^{CONTROLS}]*$"


def full_width_at_most(bound: int) -> str:
    """A regex (no anchors) for numbers of exactly len(str(bound)) digits, no leading zero,
    <= bound: an alternation per digit of the bound, no look-ahead."""
    digits = str(bound)
    alternatives = []
    for i, ch in enumerate(digits):
        low, high, rest = (1 if i == 0 else 0), int(ch) - 1, len(digits) - i - 1
        if high >= low:
            cls = str(low) if high == low else f"[{low}-{high}]"
            alternatives.append(digits[:i] + cls + (f"[0-9]{{{rest}}}" if rest else ""))
    alternatives.append(digits)
    return "|".join(alternatives)


def decimal_at_most(bound: int) -> str:
    """A regex (no anchors) for 1..bound in decimal without leading zeros, e.g. for database
    ids: the shorter numbers, then the full-width ones up to the bound."""
    width = len(str(bound))
    shorter = [f"[1-9][0-9]{{0,{width - 2}}}"] if width > 1 else []
    return "|".join([*shorter, full_width_at_most(bound)])


def describe(value: object) -> str:
    """How a message names what it found instead ("a string", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def text_schema(max_length: int | None = None, *, min_stripped: int = 0, name: bool = False, **extra: Any) -> dict:
    """The JSON Schema of storable text (also for API bodies whose checks live in other services)."""
    schema: dict[str, Any] = {"type": "string", "format": STORABLE_FORMAT}
    schema["pattern"] = NAME_PATTERN if name else text_pattern(min_stripped)
    if min_stripped or name:
        schema["minLength"] = max(min_stripped, 1)
    if max_length is not None:
        schema["maxLength"] = max_length
    return {**schema, **extra}


class Rule:
    """A field rule: `check` returns the value (normalised) or raises; `schema` describes it."""

    description: str = ""

    def check(self, value: object, path: str) -> Any:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def _described(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {**schema, "description": self.description} if self.description else schema


@dataclass(frozen=True)
class Shape:
    """A further form text must have (an identifier, a slug): the regex, and what to say."""

    regex: str
    message: str  # `{value}` is replaced by the quoted text
    not_regex: str | None = None  # a form it must not have
    not_message: str = ""


@dataclass(frozen=True)
class Text(Rule):
    """Storable text of at most `max_length` characters with at least `min_stripped` once
    trimmed (1: non-blank; 0: blank is fine); `name`: one line without control characters
    (`check_name`); `padded`: a name checked as sent and trimmed afterwards, so spaces around
    it are fine but a tab or line break is not."""

    max_length: int
    name: bool = False
    shape: Shape | None = None
    description: str = ""
    min_stripped: int = 1
    padded: bool = False

    def check(self, value: object, path: str) -> str:
        if self.padded and isinstance(value, str):
            check_name(value, path)
        if not isinstance(value, str) or (self.min_stripped and not value.strip()):
            found = "an empty string" if isinstance(value, str) else describe(value)
            wanted = "a non-empty string" if self.min_stripped else "a string"
            raise ValidationError(f"{path}: must be {wanted}, found {found}")
        if len(value) > self.max_length:
            raise ValidationError(f"{path}: at most {self.max_length} characters, found {len(value)}")
        if not storable(value):
            raise ValidationError(f"{path}: contains a NUL character or an unpaired surrogate")
        if self.name and not self.padded:  # a padded name was checked first, as sent
            check_name(value, path)
        if self.min_stripped > 1 and len(value.strip()) < self.min_stripped:
            raise ValidationError(f"{path}: at least {self.min_stripped} characters, not counting spaces around it")
        if self.shape is not None:
            if not re.fullmatch(self.shape.regex, value):
                raise ValidationError(f"{path}: {self.shape.message.format(value=quote(value))}")
            if self.shape.not_regex and re.fullmatch(self.shape.not_regex, value):
                raise ValidationError(f"{path}: {self.shape.not_message.format(value=quote(value))}")
        return value

    def schema(self) -> dict[str, Any]:
        schema = text_schema(self.max_length, min_stripped=self.min_stripped, name=self.name)
        if self.padded:
            schema["pattern"] = padded_name_pattern(blank=not self.min_stripped)
        if self.shape is not None:
            # The shape implies no NUL, no blank and no control character.
            schema["pattern"] = self.shape.regex
            if self.shape.not_regex:
                schema["not"] = {"pattern": self.shape.not_regex}
        return self._described(schema)


@dataclass(frozen=True)
class Integer(Rule):
    low: int
    high: int
    nonzero: str = ""  # the message's reason when 0 is refused
    description: str = ""
    wrong_type: str = "must be an integer"  # what the message says of a value that is not one

    def check(self, value: object, path: str) -> int:
        # `type(...) is int` first: this runs for every result of a 100,000-result import.
        if type(value) is not int and not is_int(value):
            raise ValidationError(f"{path}: {self.wrong_type}, found {describe(value)}")
        assert isinstance(value, int)
        if value < self.low:
            raise ValidationError(f"{path}: must be >= {self.low}")
        if value > self.high:
            raise ValidationError(f"{path}: must be <= {self.high}")
        if self.nonzero and value == 0:
            raise ValidationError(f"{path}: must not be 0 ({self.nonzero})")
        return value

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer", "minimum": self.low, "maximum": self.high}
        if self.nonzero:
            schema["not"] = {"const": 0}
        return self._described(schema)


@dataclass(frozen=True)
class Choice(Rule):
    """One of a fixed list of strings (or of integers, `ints`)."""

    choices: tuple[Any, ...]
    description: str = ""

    def check(self, value: object, path: str) -> Any:
        ints = all(is_int(c) for c in self.choices)
        if ints:
            ok = is_int(value) and value in self.choices
            found = str(value) if is_int(value) else describe(value)
        else:
            ok = isinstance(value, str) and value in self.choices
            found = quote(value) if isinstance(value, str) else describe(value)
        if not ok:
            raise ValidationError(f"{path}: must be one of {', '.join(map(str, self.choices))}; found {found}")
        return value

    def schema(self) -> dict[str, Any]:
        kind = "integer" if all(is_int(c) for c in self.choices) else "string"
        return self._described({"type": kind, "enum": list(self.choices)})


@dataclass(frozen=True)
class Boolean(Rule):
    description: str = ""

    def check(self, value: object, path: str) -> bool:
        if not isinstance(value, bool):
            raise ValidationError(f"{path}: must be true or false, found {describe(value)}")
        return value

    def schema(self) -> dict[str, Any]:
        return self._described({"type": "boolean"})


@dataclass(frozen=True)
class Raw(Rule):
    """A part whose check lives in code (a participant reference, a list checked item by
    item; or `check`, the service's own parser, called with the value and its path); the
    schema is given as is, built from the same constants and regexes as that check."""

    json_schema: dict[str, Any]
    description: str = ""
    parse: Any = None  # (value, path) -> value; None: checked by the caller

    def check(self, value: object, path: str) -> Any:
        return value if self.parse is None else self.parse(value, path)

    def schema(self) -> dict[str, Any]:
        return self._described(dict(self.json_schema))


@dataclass(frozen=True)
class ListOf(Rule):
    """A list; its items are checked by the caller (they need context: indexes, what is taken)."""

    items: Rule
    min_items: int = 0
    max_items: int | None = None
    unique: bool = False
    description: str = ""
    each: bool = False  # check every item here (`read`); else the caller does, with context

    def check(self, value: object, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise ValidationError(f"{path}: must be a list, found {describe(value)}")
        if not self.each:
            return value
        if len(value) < self.min_items:
            raise ValidationError(f"{path}: at least {self.min_items} item{'s' if self.min_items > 1 else ''}")
        if self.max_items is not None and len(value) > self.max_items:
            raise ValidationError(f"{path}: at most {self.max_items} items")
        return [read(self.items, item, f"{path}[{i}]") for i, item in enumerate(value)]

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "items": self.items.schema()}
        if self.min_items:
            schema["minItems"] = self.min_items
        if self.max_items is not None:
            schema["maxItems"] = self.max_items
        if self.unique:
            schema["uniqueItems"] = True
        return self._described(schema)


_MISSING = object()


@dataclass(frozen=True)
class Member:
    """One key of an object: `required` (absent: "required"), or optional with `default` for
    an absent key; `nullable`: null counts as absent."""

    rule: Rule
    required: bool = False
    nullable: bool = False
    default: Any = None


def _with_null(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str):
        out = {**schema, "type": [kind, "null"]}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [schema, {"type": "null"}]}


PLAIN_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def join(where: str, key: object) -> str:
    """`where.key`; a key that is not a plain word (spaces, dots, a newline) is quoted, so the
    path stays unambiguous and the message stays on one line."""
    if not isinstance(key, str) or not key or not PLAIN_KEY_CHARS.issuperset(key):
        return f"{where}[{quote(str(key))}]"
    return f"{where}.{key}" if where else key


@dataclass(frozen=True)
class Obj(Rule):
    """An object with exactly these keys (unknown keys are refused: a misspelt key silently
    ignored would change the standings without anyone noticing). `conditions` are JSON Schema
    `if`/`then` forms of rules between its fields that the checking code applies."""

    members: dict[str, Member]
    description: str = ""
    conditions: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    lenient: bool = False  # unknown keys are ignored (an API body a newer client may extend)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.members)

    def check(self, value: object, path: str, root: str = "entry") -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ValidationError(f"{path or root}: must be an object, found {describe(value)}")
        if self.lenient or value.keys() <= self.members.keys():  # the usual case, checked in one step
            return value
        for key in value:
            if key not in self.members:
                raise ValidationError(f"{join(path, key)}: unknown key; allowed here: {', '.join(self.members)}")
        return value

    def get(self, obj: dict[str, Any], key: str, where: str, *, deep: bool = False) -> Any:
        """The member's value, checked (or its default); `deep`: objects inside it member by
        member too (`read`)."""
        member = self.members[key]
        value = obj.get(key, _MISSING)
        if value is _MISSING or (value is None and member.nullable):
            if member.required and value is _MISSING:
                raise ValidationError(f"{join(where, key)}: required")
            return member.default
        path = join(where, key)
        return read(member.rule, value, path) if deep else member.rule.check(value, path)

    def raw(self, obj: dict[str, Any], key: str, where: str) -> Any:
        """The member's value unchecked (required is still enforced)."""
        if key not in obj:
            if self.members[key].required:
                raise ValidationError(f"{join(where, key)}: required")
            return self.members[key].default
        return obj[key]

    def read(self, value: object, path: str = "") -> dict[str, Any]:
        """Every member checked all the way down (absent ones get their default; unknown keys of
        a lenient object are dropped): how an API body is read."""
        obj = self.check(value, path, root=path or "body")
        return {key: self.get(obj, key, path, deep=True) for key in self.members}

    def schema(self, *, required: Iterable[str] = ()) -> dict[str, Any]:
        required = tuple(required)
        properties = {}
        for key, member in self.members.items():
            schema = member.rule.schema()
            if member.nullable and key not in required:
                schema = _with_null(schema)
            if member.default is not None:
                schema["default"] = member.default
            properties[key] = schema
        needed = [k for k, m in self.members.items() if m.required] + [k for k in required if k not in self.members]
        needed += [k for k in required if k in self.members and not self.members[k].required]
        schema: dict[str, Any] = {"type": "object"}
        if self.lenient:
            schema |= {"propertyNames": KEY_NAMES, "additionalProperties": ANY_STORABLE}
        else:
            schema["additionalProperties"] = False
        if needed:
            schema["required"] = needed
        schema["properties"] = properties
        if self.conditions:
            schema["allOf"] = list(self.conditions)
        return self._described(schema)


@dataclass(frozen=True)
class MapOf(Rule):
    """An object whose keys are any storable text and whose values all follow one rule."""

    values: Rule
    description: str = ""

    def check(self, value: object, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ValidationError(f"{path}: must be an object, found {describe(value)}")
        return {key: read(self.values, item, join(path, key)) for key, item in value.items()}

    def schema(self) -> dict[str, Any]:
        return self._described(
            {"type": "object", "propertyNames": KEY_NAMES, "additionalProperties": self.values.schema()}
        )


def read(rule: Rule, value: object, path: str) -> Any:
    """`value` checked all the way down (objects member by member), as an API body is."""
    return rule.read(value, path) if isinstance(rule, Obj) else rule.check(value, path)


def storable_json_components() -> dict[str, Any]:
    """The value of an unknown (ignored) key of a lenient body: storable text, and containers
    whose content is any JSON. The server also refuses NUL or an unpaired surrogate deeper
    inside and bodies nested more than MAX_JSON_DEPTH levels (400, `check_json`); JSON Schema
    can only say that recursively, and neither form serves today's tools: a schema that refers
    to itself stops openapi-python-client ("Could not find reference"), and a 32-level chain of
    schemas makes schemathesis' coverage phase grow exponentially (1,637 cases at 8 levels)."""
    nested = (
        f"Any JSON; text inside must also be storable and the body nested at most {MAX_JSON_DEPTH} levels "
        "(checked by the server, 400)"
    )
    return {
        "StorableJson": {
            "description": "Any JSON value whose text has no NUL or unpaired surrogate",
            "type": ["null", "boolean", "number", "string", "array", "object"],
            "format": STORABLE_FORMAT,
            "pattern": TEXT_PATTERN,
            "items": {"$ref": "#/components/schemas/NestedJson"},
            "propertyNames": KEY_NAMES,
            "additionalProperties": {"$ref": "#/components/schemas/NestedJson"},
        },
        "NestedJson": {"description": nested},
    }


# ISO 8601 date and time, loose enough for what spreadsheets and scripts write (space for `T`,
# lowercase `z`, no seconds, long fractions). The zone is optional here only so that a missing
# zone gets a message of its own.
TIMESTAMP_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?$"
)
# The same with a zone, as JSON Schema (what the server parses: years 1-9999; a day that does
# not exist, such as February 30, is refused by the server alone).
TIMESTAMP_PATTERN = (
    r"^(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]"
    r"(?::[0-5][0-9](?:\.[0-9]{1,9})?)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])$"
)


def parse_timestamp(value: object, where: str) -> datetime | None:
    """Read an ISO 8601 time as aware UTC.

    A time without a zone is refused rather than guessed: organisers sit in many time zones,
    and a wrong guess silently reorders matches (and with them `last_match_placement`).
    """
    if value is None:
        return None
    example = '"2025-11-13T14:00:00Z"'
    if not isinstance(value, str):
        raise ValidationError(f"{where}: must be an ISO 8601 date and time like {example}, found {describe(value)}")
    match = TIMESTAMP_RE.match(value)
    if match is None:
        raise ValidationError(f"{where}: must be an ISO 8601 date and time like {example}, found {quote(value)}")
    if match.group("zone") is None:
        raise ValidationError(f"{where}: {quote(value)} has no time zone; add Z (UTC) or an offset like +06:00")
    text = value[:10] + "T" + value[11:]
    if text.endswith("z"):
        text = text[:-1] + "Z"
    fraction = re.search(r"\.(\d+)", text)
    if fraction and len(fraction.group(1)) > 6:  # Python keeps microseconds; drop the rest
        text = text[: fraction.start(1) + 6] + text[fraction.end(1) :]
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValidationError(f"{where}: {quote(value)} is not a valid date and time") from None


@dataclass(frozen=True)
class Timestamp(Rule):
    """An ISO 8601 date and time with a zone, read as UTC (`parse_timestamp`)."""

    description: str = ""

    def check(self, value: object, path: str) -> datetime | None:
        return parse_timestamp(value, path)

    def schema(self) -> dict[str, Any]:
        return self._described({"type": "string", "pattern": TIMESTAMP_PATTERN})


@dataclass(frozen=True)
class Requiring(Rule):
    """An object rule with more keys required (a file's lobby needs the key the API makes up)."""

    rule: Obj
    required: tuple[str, ...]
    description: str = ""

    def check(self, value: object, path: str) -> Any:
        return self.rule.check(value, path)

    def schema(self) -> dict[str, Any]:
        return self._described(self.rule.schema(required=self.required))
