"""The tournament file, `deltacrown.tournament/v1` (contract §2), one concept per module:

- `rules.py`: the rules of every part, declared once; they check the file and generate the
  published JSON Schema (docs/tournament-file.schema.json) and the API's lobby schema;
- `validation.py`: checking a whole file (and one lobby, shared with the API) before anything
  is written, with messages naming the place;
- `importing.py`: writing a checked file in one transaction;
- `json_text.py`: reading the file's bytes as strict JSON;
- `export.py`: writing a tournament out in the same form.

Callers import from here; the names below are the package's public face.
"""

from app.services.inputs.fieldspec import parse_timestamp
from app.services.tournaments.file.export import export_tournament
from app.services.tournaments.file.importing import RESULT_CHUNK, ImportResult, import_tournament
from app.services.tournaments.file.json_text import load_file, parse_json
from app.services.tournaments.file.rules import (
    BEST_OF_CHOICES,
    BR_GAMES,
    FORMAT,
    GAMES,
    ID_RE,
    MAX_ADJUSTMENT,
    MAX_ADVANCING,
    MAX_KEY,
    MAX_KILLS,
    MAX_NAME,
    MAX_PLACEMENT,
    MAX_REASON,
    MAX_SCORE,
    MAX_SLUG,
    MAX_STAGE,
    MAX_TAG,
    OPEN_STATES,
    SLUG_RE,
    STATES,
    STATUSES,
    json_schema,
    lobby_schema,
)
from app.services.tournaments.file.validation import (
    _check_tournament,
    check_advancing,
    validate_document,
    validate_match_entry,
)
from app.timestamps import iso_z as format_timestamp

__all__ = [
    "BEST_OF_CHOICES",
    "BR_GAMES",
    "FORMAT",
    "GAMES",
    "ID_RE",
    "MAX_ADJUSTMENT",
    "MAX_ADVANCING",
    "MAX_KEY",
    "MAX_KILLS",
    "MAX_NAME",
    "MAX_PLACEMENT",
    "MAX_REASON",
    "MAX_SCORE",
    "MAX_SLUG",
    "MAX_STAGE",
    "MAX_TAG",
    "OPEN_STATES",
    "RESULT_CHUNK",
    "SLUG_RE",
    "STATES",
    "STATUSES",
    "ImportResult",
    "_check_tournament",
    "check_advancing",
    "export_tournament",
    "format_timestamp",
    "import_tournament",
    "json_schema",
    "load_file",
    "lobby_schema",
    "parse_json",
    "parse_timestamp",
    "validate_document",
    "validate_match_entry",
]
