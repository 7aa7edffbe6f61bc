"""Issue 27, item 6: the waiting-list position each captain is answered equals the stored list.
The race's answers read 1,1,2,4,4,5,5,... while the list ended 1-29: the time that orders the list
was read before the registration lock, so a team that waited for the lock could sort before one
already answered."""

from __future__ import annotations

import threading

from app.services.registration import entries
from app.services.registration import records as entry_records
from tests.services.registration.test_registration_race import CAPTAINS, _prepare


def test_answered_positions_equal_the_stored_waiting_list(make_app):
    app = make_app()
    tid, captains = _prepare(app)
    barrier = threading.Barrier(CAPTAINS)
    answers: dict[int, int | None] = {}
    errors: list[BaseException] = []

    def register(n: int, user_id: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                entry = entries.register(tid, user_id, f"Team {n}", None)
                answers[entry.id] = entry_records.to_row(entry)["waitlist_position"]
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                from app.extensions import db

                db.session.remove()

    threads = [threading.Thread(target=register, args=(n, uid)) for n, uid in enumerate(captains)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with app.app_context():
        stored = entry_records.waitlist_positions(tid)
    assert sorted(stored.values()) == list(range(1, CAPTAINS))
    answered = {entry_id: position for entry_id, position in answers.items() if position is not None}
    assert answered == stored
