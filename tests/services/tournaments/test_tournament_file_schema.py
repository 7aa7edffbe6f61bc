"""The published JSON Schema of the tournament file (docs/tournament-file.schema.json) is what
the rules in app/services/tournaments/file/rules.py generate, byte for byte, so it cannot drift
from the importer; editors that validate against it see the published examples as valid.
Regenerate it with `python -m app.services.tournaments.file > docs/tournament-file.schema.json`."""

from __future__ import annotations

import json
import os

import jsonschema
import pytest

from app.services.tournaments import file as tf
from app.services.tournaments.file.rules import SCHEMA_ID, json_schema_text
from tests import ROOT

SCHEMA_PATH = os.path.join(ROOT, "docs", "tournament-file.schema.json")
CONTRACT_EXAMPLES = os.path.join(os.path.dirname(ROOT), "shared", "contract", "examples")


def test_published_schema_is_the_generated_one():
    with open(SCHEMA_PATH, encoding="utf-8") as handle:
        published = handle.read()
    assert published == json_schema_text(), (
        "docs/tournament-file.schema.json is out of date: run "
        "`python -m app.services.tournaments.file > docs/tournament-file.schema.json`"
    )


def test_schema_is_a_valid_draft_2020_12_schema():
    schema = tf.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == SCHEMA_ID and schema["$id"].endswith("docs/tournament-file.schema.json")
    # The rules' limits are the ones the importer applies.
    result = schema["properties"]["matches"]["items"]["properties"]["results"]["items"]["properties"]
    assert result["placement"]["minimum"] == 1 and result["placement"]["maximum"] == tf.MAX_PLACEMENT
    assert schema["properties"]["tournament"]["properties"]["game"]["enum"] == list(tf.GAMES)


def _examples() -> list[str]:
    paths = []
    for folder in (os.path.join(ROOT, "docs", "examples"), CONTRACT_EXAMPLES):
        if os.path.isdir(folder):
            paths += [os.path.join(folder, name) for name in sorted(os.listdir(folder)) if name.endswith(".json")]
    return paths


@pytest.mark.parametrize("path", _examples(), ids=os.path.basename)
def test_every_published_example_file_is_valid(path):
    with open(path, encoding="utf-8") as handle:
        doc = json.load(handle)
    if not (isinstance(doc, dict) and doc.get("format") == tf.FORMAT):
        pytest.skip("an expected output, not a tournament file")
    errors = [e.message for e in jsonschema.Draft202012Validator(tf.json_schema()).iter_errors(doc)]
    assert errors == []
    tf.validate_document(doc)  # and the importer agrees


@pytest.mark.parametrize("page", ["README.md", "docs/tournament-file.md"])
def test_the_schema_is_linked_from_the_docs(page):
    with open(os.path.join(ROOT, page), encoding="utf-8") as handle:
        assert "tournament-file.schema.json" in handle.read()
