"""A real HTTP webhook receiver on loopback, in a thread, for tests and the benchmark.

It records every request (headers and the exact body bytes) and answers with what the test
asks for: a status per request (a list consumed in order, then `default_status`), an optional
stall before answering, or a redirect. It dedupes on the event id the way a receiver should.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # a client that went away mid-answer (a killed worker) is part of the tests


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Behaviour:
    statuses: list[int] = field(default_factory=list)
    default_status: int = 200
    stall_seconds: float = 0.0
    # How many requests stall (None: all of them while stall_seconds is set).
    stall_count: int | None = None
    location: str | None = None
    answer: bytes = b'{"ok": true}'


class WebhookReceiver:
    def __init__(self, port: int = 0) -> None:
        self.behaviour = Behaviour()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self.stalled = threading.Event()  # set when a request starts stalling
        # Requests being answered right now, and the most there ever were at once.
        self.in_flight = 0
        self.max_in_flight = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = port
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out as separate writes: without this, Nagle's algorithm and the
                # client's delayed ACK add 40 ms to every answer.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.in_flight += 1
                    receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
                    receiver.received.append(Received(self.path, dict(self.headers.items()), body, time.time()))
                    behaviour = receiver.behaviour
                    status = behaviour.statuses.pop(0) if behaviour.statuses else behaviour.default_status
                    stall = behaviour.stall_seconds if behaviour.stall_count is None or behaviour.stall_count > 0 else 0
                    if stall and behaviour.stall_count is not None:
                        behaviour.stall_count -= 1
                if stall:
                    receiver.stalled.set()
                    time.sleep(stall)
                self.send_response(status)
                if behaviour.location and 300 <= status < 400:
                    self.send_header("Location", behaviour.location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(behaviour.answer)))
                self.end_headers()
                with receiver._lock:
                    receiver.in_flight -= 1
                self.wfile.write(behaviour.answer)

        self._server = _QuietServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def event_ids(self) -> list[str]:
        with self._lock:
            return [r.headers.get("webhook-id", "") for r in self.received]

    def unique_event_ids(self) -> set[str]:
        return set(self.event_ids())
