"""The topology's two delivery workers: they share the work and never send an event twice, and
killing one mid-load (SIGKILL: no hand-back) loses no delivery: its leases run out and the
other worker (or its restarted self) sends what it held."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.notifications import endpoints, outbox
from app.notifications.models import Delivery, DeliveryAttempt
from tests import factories as f
from tests.cluster.conftest import WORKER_SETTINGS
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.cluster

SLUG = "cluster-delivery-cup"


@pytest.fixture(scope="module")
def events_app(cluster):
    """An app on the cluster's database that emits events as the web instances would, and seals
    endpoint secrets with the workers' keys."""
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": cluster.database_url,
            "NOTIFICATIONS_WEBHOOK_ENABLED": True,
            "WEBHOOK_ALLOW_PRIVATE_NETWORKS": True,
            "WEBHOOK_SECRET_KEYS": WORKER_SETTINGS["WEBHOOK_SECRET_KEYS"],
        }
    )
    with app.app_context():
        f.br_tournament(SLUG, teams=("A1", "B2", "C3"))
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def receiver():
    r = WebhookReceiver()
    yield r
    r.stop()


def _emit_to_new_endpoint(app, receiver: WebhookReceiver, count: int) -> tuple[int, list[str]]:
    with app.app_context():
        endpoint, _secret = endpoints.create_endpoint(receiver.url, "cluster test", [], None)
        tournament = db.session.scalar(select(f.Tournament).where(f.Tournament.slug == SLUG))
        ids = [
            outbox.emit("leaderboard.updated", tournament_id=tournament.id, data=outbox.leaderboard_data(tournament))
            for _ in range(count)
        ]
        db.session.commit()
        return endpoint.id, [event.event_id for event in ids]


def _received(receiver: WebhookReceiver) -> Counter:
    return Counter(r.headers.get("webhook-id") for r in list(receiver.received))


def _wait_all_received(receiver: WebhookReceiver, wanted: set[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if wanted <= set(_received(receiver)):
            return
        time.sleep(0.2)
    missing = len(wanted - set(_received(receiver)))
    pytest.fail(f"{missing} of {len(wanted)} events never arrived within {timeout} s")


def _delivered(app, endpoint_id: int) -> tuple[int, set[str]]:
    with app.app_context():
        delivered = db.session.scalar(
            select(func.count(Delivery.id)).where(Delivery.endpoint_id == endpoint_id, Delivery.status == "delivered")
        )
        workers = set(
            db.session.scalars(
                select(DeliveryAttempt.worker)
                .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
                .where(Delivery.endpoint_id == endpoint_id)
            )
        )
        db.session.remove()
        return delivered, workers


def test_two_delivery_workers_share_the_work_and_never_send_twice(cluster, events_app, receiver):
    # A receiver that takes a moment, like a real one: long enough that one worker alone needs
    # ~15 s for the lot (4 in flight per endpoint), so a worker that starts a few seconds late on a
    # loaded machine still finds work (at 50 ms one worker once drained all 300 before the other
    # had polled).
    receiver.behaviour.stall_seconds = 0.2
    endpoint_id, ids = _emit_to_new_endpoint(events_app, receiver, 300)
    _wait_all_received(receiver, set(ids), timeout=60)
    time.sleep(0.5)  # anything sent twice would arrive by now
    counts = _received(receiver)
    assert set(counts) == set(ids)
    duplicates = {event_id: n for event_id, n in counts.items() if n > 1}
    assert duplicates == {}, f"{len(duplicates)} events received more than once"
    deadline = time.monotonic() + 10
    while (found := _delivered(events_app, endpoint_id))[0] < len(ids) and time.monotonic() < deadline:
        time.sleep(0.2)
    delivered, workers = found
    assert delivered == len(ids)
    assert {"cluster-worker-1", "cluster-worker-2"} <= workers, workers  # both took part


def test_killing_a_delivery_worker_mid_load_loses_no_delivery(cluster, events_app, receiver):
    receiver.behaviour.stall_seconds = 0.1
    endpoint_id, ids = _emit_to_new_endpoint(events_app, receiver, 400)
    deadline = time.monotonic() + 20
    while len(receiver.received) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    killed_at = len(receiver.received)
    assert killed_at < len(ids), "the load was over before the kill"
    os.kill(cluster.pid("worker-1"), signal.SIGKILL)  # mid-delivery: no hand-back, leases held
    _wait_all_received(receiver, set(ids), timeout=60)
    counts = _received(receiver)
    duplicates = sum(n - 1 for n in counts.values())
    print(f"\nkilled after {killed_at} receipts; {len(ids)} events, all received; {duplicates} received twice")
    assert set(counts) == set(ids)
    # Only what the killed worker had in flight can arrive twice (it may have reached the
    # receiver before the kill, unrecorded): at most the endpoint's cap.
    assert duplicates <= int(WORKER_SETTINGS["WORKER_PER_ENDPOINT"])
    deadline = time.monotonic() + 15
    while _delivered(events_app, endpoint_id)[0] < len(ids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _delivered(events_app, endpoint_id)[0] == len(ids)
