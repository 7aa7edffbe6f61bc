"""Capacity under a crowd: 50 captains press Register for the last slot at the same moment.
Exactly one gets it and 49 are waiting-listed, in order, whatever the interleaving: with 50
threads in one process, and with two processes of 25 threads each on the same database (the
way several gunicorn workers or hosts share one PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Entry, EntryStatus, Participant, Registration, User
from app.services.registration import entries, settings_save, slots
from app.services.registration import records as entry_records
from tests import ROOT
from tests.factories import br_tournament

CAPTAINS = 50
SETTINGS = {"capacity": 1, "fee": {"amount": "100"}, "methods": [{"name": "bkash", "instructions": "pay"}]}


def _prepare(app) -> tuple[int, list[int]]:
    with app.app_context():
        tournament = br_tournament("race-cup", status="registration", teams=())
        staff = User(email="org@example.com", is_staff=True)
        # No password: hashing 50 of them would only slow the test down.
        captains = [User(email=f"c{n}@example.com") for n in range(CAPTAINS)]
        db.session.add_all([staff, *captains])
        db.session.commit()
        settings_save.save_settings(tournament.id, SETTINGS, staff.id)
        return tournament.id, [c.id for c in captains]


def _check(app, tid: int, outcomes: list[str]) -> None:
    assert sorted(outcomes).count(EntryStatus.PENDING_PAYMENT.value) == 1, outcomes
    assert sorted(outcomes).count(EntryStatus.WAITLISTED.value) == CAPTAINS - 1, outcomes
    with app.app_context():
        rows = list(db.session.scalars(select(Entry).where(Entry.tournament_id == tid)))
        assert len(rows) == CAPTAINS
        assert sum(e.status in slots.SLOT_HOLDING for e in rows) == 1
        positions = entry_records.waitlist_positions(tid)
        assert sorted(positions.values()) == list(range(1, CAPTAINS))
        assert len({e.code for e in rows}) == CAPTAINS
        assert db.session.scalar(select(func.count(Participant.id)).where(Participant.tournament_id == tid)) == CAPTAINS
        assert db.session.scalar(select(func.count(Registration.id))) == CAPTAINS


def test_fifty_captains_in_threads(make_app):
    app = make_app()
    tid, captains = _prepare(app)
    barrier = threading.Barrier(CAPTAINS)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def register(n: int, user_id: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                outcomes.append(entries.register(tid, user_id, f"Team {n}", None).status)
            except BaseException as exc:  # reported below, with the others
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=register, args=(n, uid)) for n, uid in enumerate(captains)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    _check(app, tid, outcomes)


_PROCESS = textwrap.dedent(
    """
    import json, os, sys, threading, time
    from app import create_app
    from app.extensions import db
    from app.services.registration import entries
    from app.services.registration import settings_save
    from app.services.registration import slots

    config = json.loads(sys.argv[1])
    tid, captains, ready, go = config.pop("tid"), config.pop("captains"), config.pop("ready"), config.pop("go")
    app = create_app({"TESTING": True, "SECRET_KEY": "race", **config})
    barrier = threading.Barrier(len(captains) + 1)
    outcomes, errors = [], []

    def register(n, user_id):
        with app.app_context():
            try:
                db.session.execute(db.text("SELECT 1"))  # connect before the start
                db.session.rollback()
                barrier.wait(timeout=120)
                outcomes.append(entries.register(tid, user_id, f"Team {n}", None).status)
            except BaseException as exc:
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=register, args=(n, uid)) for n, uid in captains]
    for thread in threads:
        thread.start()
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.005)
    barrier.wait(timeout=120)
    for thread in threads:
        thread.join(timeout=120)
    print(json.dumps({"outcomes": outcomes, "errors": errors}))
    """
)


@pytest.mark.slow
def test_fifty_captains_in_two_processes(make_app, database_config, tmp_path):
    app = make_app()
    tid, captains = _prepare(app)
    numbered = list(enumerate(captains))
    go = str(tmp_path / "go")
    processes = []
    for half in (numbered[::2], numbered[1::2]):
        ready = str(tmp_path / f"ready-{len(processes)}")
        config = {**database_config, "tid": tid, "captains": half, "ready": ready, "go": go}
        processes.append(
            (
                ready,
                subprocess.Popen(
                    [sys.executable, "-c", _PROCESS, json.dumps(config)],
                    cwd=ROOT,
                    env={**os.environ, "PYTHONPATH": ROOT},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
        )
    deadline = time.monotonic() + 120
    while not all(os.path.exists(ready) for ready, _ in processes):
        assert time.monotonic() < deadline, "the processes did not start"
        assert all(p.poll() is None for _, p in processes), [p.communicate() for _, p in processes]
        time.sleep(0.05)
    open(go, "w").close()
    outcomes: list[str] = []
    for _, process in processes:
        out, err = process.communicate(timeout=240)
        assert process.returncode == 0, err
        result = json.loads(out.strip().splitlines()[-1])
        assert not result["errors"], result["errors"]
        outcomes.extend(result["outcomes"])
    _check(app, tid, outcomes)
