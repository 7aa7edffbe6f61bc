"""Issue 27, item 2 through gunicorn: peak RSS of one worker per screenshot upload (bench/proof_upload.py
measures it the same way, `make bench` prints it). The probe's 113 KB 6300x6300 PNG peaked a worker
at 687 MB; the worst image accepted now must cost under 100 MB above idle, and the bomb almost
nothing. On PostgreSQL when DATABASE_URL names one, else SQLite."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests import ROOT
from tests.conftest import _database_url

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for the worker's peak RSS"),
]
BENCH = Path(ROOT) / "bench" / "proof_upload.py"


def _bench():
    spec = importlib.util.spec_from_file_location("proof_upload_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_peak_memory_per_upload_under_gunicorn():
    url = _database_url() or ""
    results = {r.label.split(" ")[0]: r for r in _bench().run(url if url.startswith("postgresql") else None, 100)}
    assert results["png-6300x6300"].status == 400
    assert results["png-6300x6300"].cost_mb < 20
    for label in ("png-rgba-4096x3900", "jpeg-4096x3900", "png-1440x3200"):
        assert results[label].status == 302
        assert results[label].cost_mb < 100, (label, results[label])
