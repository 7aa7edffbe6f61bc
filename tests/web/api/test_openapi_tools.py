"""Real tools read the served OpenAPI document: `openapi-python-client` generates a client with
every operation and no warning (it used to skip the override and state endpoints on the
recursive `StorableJson` schema and drop the results response), and `openapi-spec-validator`'s
command line accepts it (it used to stop at the `\\ud800\\udc00`-style escapes of astral
characters, which its YAML reader refuses: the document is now UTF-8 as is)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

BIN = os.path.dirname(sys.executable)
METHODS = ("get", "put", "post", "delete", "patch")


def _tool(name: str) -> str:
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        pytest.fail(f"{name} is not installed: make install (it is a dev dependency)")
    return path


@pytest.fixture
def served(client, tmp_path):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    path = tmp_path / "openapi.json"
    path.write_bytes(response.data)
    return path, response.get_json()


def test_served_as_utf8_without_surrogate_escapes(served):
    path, doc = served
    raw = path.read_bytes()
    assert not re.search(rb"\\u[dD][89abAB]", raw), "astral characters must be sent as UTF-8, not escaped"
    raw.decode("utf-8")  # strict
    assert doc["openapi"].startswith("3.1")


@pytest.mark.slow
def test_openapi_spec_validator_accepts_the_document(served):
    path, _doc = served
    done = subprocess.run([_tool("openapi-spec-validator"), str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK" in done.stdout


@pytest.mark.slow
def test_openapi_python_client_generates_every_operation(served, tmp_path):
    path, doc = served
    out = tmp_path / "client"
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}  # its ruff post-hook
    done = subprocess.run(
        [_tool("openapi-python-client"), "generate", "--path", str(path), "--output-path", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for word in ("warning", "unable", "could not", "skipping", "error"):
        assert word not in output.lower(), output

    generated: set[tuple[str, str]] = set()
    for folder, _dirs, files in os.walk(out):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    text = handle.read()
                for method, url in re.findall(r'"method": "(\w+)",\s*"url": "([^"]+)"', text):
                    generated.add((method, url))
    expected = {(method, path) for path, item in doc["paths"].items() for method in item if method in METHODS}
    assert len(expected) >= 25
    assert expected - generated == set()
