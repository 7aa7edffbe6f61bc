"""The documentation stands alone, and `make run` names the port it serves on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests import ROOT


def read(*parts: str) -> str:
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as handle:
        return handle.read()


def test_readme_points_into_the_repository_not_outside_it():
    readme = read("README.md")
    assert "../shared" not in readme and "shared/contract" not in readme
    for target in re.findall(r"\]\(([^)#]+)\)", readme):
        if "://" not in target:
            assert os.path.exists(os.path.join(ROOT, target)), target


@pytest.mark.parametrize("name", ["README.md", "tournament-file.md", "ranking-rules.md", "web-addresses.md"])
def test_docs_exist_and_their_links_resolve(name):
    text = read("docs", name)
    assert "../shared" not in text
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if "://" not in target:
            assert os.path.exists(os.path.join(ROOT, "docs", target)), (name, target)


def test_docs_cover_what_users_need():
    file_doc = read("docs", "tournament-file.md")
    assert "advancing" in file_doc and '"matches": []' in file_doc
    addresses = read("docs", "web-addresses.md")
    for needle in ("/embed/<slug>", "/embed.js", "standings.csv", "standings.json", "overlay", "theme", "limit"):
        assert needle in addresses
    rules = read("docs", "ranking-rules.md")
    for needle in ("last_match_placement", "Advancement line", "Movement", "Tie notes"):
        assert needle in rules


def test_examples_are_in_the_repository(examples_dir):
    assert os.path.abspath(examples_dir) == os.path.join(ROOT, "docs", "examples")
    names = set(os.listdir(examples_dir))
    assert {"ff-weekly-cup.json", "pmcs-group-a.json", "val-campus-playoffs.json", "README.md"} <= names


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_names_the_port_it_serves_on():
    out = subprocess.run(
        ["make", "-n", "run", "PORT=8123", "HOST=127.0.0.1"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "http://127.0.0.1:8123/" in out
    assert "--port 8123" in out
    assert "PUBLIC_BASE_URL=http://127.0.0.1:8123" in out


def test_demo_login_line_uses_the_served_address(make_app):
    app = make_app(PUBLIC_BASE_URL="http://127.0.0.1:8123")
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "(http://127.0.0.1:8123/login)" in result.output
    assert ":5000" not in result.output
