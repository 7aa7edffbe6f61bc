"""The backup drill from the README: `pg_dump -Fc` of the site's data, the database lost,
`pg_restore` into an empty one, and the site shows the same standings and accepts log-ins."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from sqlalchemy import text

from app.extensions import db
from tests import factories as f
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, create_user, csrf_token_from

URL = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL") or ""
pytestmark = [
    # The drill drops its schema: not the one the other tests share.
    pytest.mark.own_database,
    pytest.mark.slow,
    pytest.mark.skipif(
        not URL.startswith("postgresql") or not shutil.which("pg_dump"),
        reason="the drill backs up PostgreSQL with pg_dump/pg_restore (set DATABASE_URL to a PostgreSQL server)",
    ),
]


def _libpq(url: str) -> str:
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def test_pg_dump_and_pg_restore_bring_the_site_back(make_app, database_config, tmp_path):
    schema = re.search(r"search_path=(\S+)", database_config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"])[1]
    app = make_app()
    create_user(app, STAFF_EMAIL, STAFF_PASSWORD, staff=True)
    with app.app_context():
        t = f.br_tournament("drill-cup")
        f.lobby(t, [("A", 1, 5), ("B", 2, 3), ("C", 3, 1), ("D", 4, 0)], stage="Day 1")
        db.session.commit()
    before = app.test_client().get("/tournaments/drill-cup/standings.csv").get_data()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()

    dump = tmp_path / "deltacrown.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--schema={schema}", f"--file={dump}", _libpq(URL)], check=True)
    with app.app_context():
        with db.engine.begin() as conn:  # the disaster
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        db.engine.dispose()
        assert app.test_client().get("/tournaments/drill-cup/standings.csv").status_code != 200
    subprocess.run(["pg_restore", "--exit-on-error", f"--dbname={_libpq(URL)}", str(dump)], check=True)

    restored = make_app(create_schema=False)
    client = restored.test_client()
    assert client.get("/tournaments/drill-cup/standings.csv").get_data() == before
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    login = client.post("/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token})
    assert login.status_code == 302
