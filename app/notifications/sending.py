"""Sending: the sender threads that carry out attempts, off the worker's bookkeeping thread.

Rules:
- One worker has up to WORKER_CONCURRENCY sender threads; an attempt is a job on their queue,
  and its outcome comes back on the results queue (the worker thread alone touches the
  deliveries' rows, in batches).
- Each destination has its own keep-alive HTTP session (a pool of WORKER_PER_ENDPOINT
  connections), and every connection still goes through the SSRF guard (`net`).
- Emails go out as one job per claimed batch, through one SMTP connection for the whole batch;
  when the worker is stopping, the batch's unsent emails come back as "not attempted".
- A channel that raises (a bug) is a retry with the error as detail: it must not kill a thread
  or lose the delivery.
- A webhook delivery whose endpoint was disabled or removed meanwhile, or whose
  WEBHOOK_DELIVERY_URL was unset, is cancelled rather than sent (`cancel_reason`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from flask import Flask, current_app

from app.extensions import db
from app.notifications import email, webhooks
from app.notifications.leases import Key
from app.notifications.models import Delivery
from app.notifications.outcome import Outcome


@dataclass
class Flight:
    """One delivery a worker holds: where it goes and which attempt this is."""

    key: Key
    attempt: int
    started_at: datetime
    started: float = field(default_factory=time.monotonic)


@dataclass
class Result:
    delivery_id: int
    # None: not attempted, hand it back (the worker is stopping).
    outcome: Outcome | None
    started_at: datetime | None = None


def internal_error(exc: Exception) -> Outcome:
    return Outcome.retry(f"internal error: {type(exc).__name__}: {str(exc)[:300]}")


def cancel_reason(delivery: Delivery) -> str | None:
    """Why a claimed webhook delivery must not be sent any more, or None: send it."""
    if delivery.endpoint_id is None:
        return None if current_app.config.get("WEBHOOK_DELIVERY_URL") else "WEBHOOK_DELIVERY_URL is no longer set"
    if delivery.endpoint is None:
        return "the endpoint was removed"
    if not delivery.endpoint.enabled:
        return "the endpoint is disabled"
    return None


class Senders:
    """The sender threads of one worker, their HTTP sessions, and the queue of outcomes."""

    def __init__(self, app: Flask, stop: threading.Event) -> None:
        self.app = app
        self.stop = stop
        self.results: queue.Queue[Result] = queue.Queue()
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._sessions: dict[Key, requests.Session] = {}

    def submit(self, job: Callable[[], None]) -> None:
        concurrency = max(1, int(current_app.config["WORKER_CONCURRENCY"]))
        while len(self._threads) < concurrency:
            thread = threading.Thread(target=self._sender, name=f"sender-{len(self._threads)}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self._jobs.put(job)

    def _sender(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job()

    def close(self) -> None:
        """Let the threads end once the jobs queued before now are done; close the sessions."""
        for _ in self._threads:
            self._jobs.put(None)
        self._threads = []
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()

    def _session(self, key: Key) -> requests.Session:
        session = self._sessions.get(key)
        if session is None:
            config = current_app.config
            session = self._sessions[key] = webhooks.session_for(
                bool(config.get("WEBHOOK_ALLOW_PRIVATE_NETWORKS")), int(config["WORKER_PER_ENDPOINT"])
            )
        return session

    def webhook(self, delivery_id: int, key: Key, request: webhooks.Request, started_at: datetime) -> None:
        """Queue one prepared webhook attempt."""
        session = self._session(key)
        results = self.results

        def job() -> None:
            try:
                outcome = webhooks.send(request, session)
            except Exception as exc:  # see the module's rules
                outcome = internal_error(exc)
            results.put(Result(delivery_id, outcome, started_at))

        self.submit(job)

    def emails(self, ids: list[int], started_at: datetime) -> None:
        """Queue one batch of email deliveries, sent in order over one SMTP connection."""
        app, results, stop = self.app, self.results, self.stop

        def job() -> None:
            with app.app_context():
                sender = email.BatchSender()
                began = time.monotonic()
                try:
                    for position, delivery_id in enumerate(ids):
                        if stop.is_set():
                            for rest in ids[position:]:
                                results.put(Result(rest, None))
                            return
                        at = started_at + timedelta(seconds=time.monotonic() - began)
                        delivery = db.session.get(Delivery, delivery_id)
                        try:
                            outcome = email.deliver(delivery, send=sender.send)
                        except Exception as exc:
                            app.logger.exception("delivery %s: the email channel raised", delivery_id)
                            outcome = internal_error(exc)
                        db.session.rollback()
                        results.put(Result(delivery_id, outcome, at))
                finally:
                    sender.close()
                    db.session.remove()

        self.submit(job)
