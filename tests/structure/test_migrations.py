"""The migration history must build exactly the schema the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.extensions import db

# Both start from a database without a single table.
pytestmark = pytest.mark.own_database


def test_upgrade_on_empty_database_matches_models(make_app):
    app = make_app(create_schema=False)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
        assert differences == [], "models changed without a migration: run `flask db migrate`"
        tables = set(inspect(connection).get_table_names())
        assert {"tournaments", "tournament_results", "audit_events", "api_tokens"} <= tables


def test_downgrade_to_base_and_back(make_app):
    app = make_app(create_schema=False)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    assert runner.invoke(args=["db", "downgrade", "base"]).exit_code == 0
    with app.app_context(), db.engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
