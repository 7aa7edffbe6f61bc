"""`python -m app.services.tournaments.file > docs/tournament-file.schema.json` regenerates the
published JSON Schema from the rules (tests/services/tournaments/test_tournament_file_schema.py fails until it is)."""

import sys

from app.services.tournaments.file.rules import json_schema_text

sys.stdout.write(json_schema_text())
