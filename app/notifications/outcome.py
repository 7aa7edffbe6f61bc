"""What one delivery attempt came to. Every channel (webhook, email) answers with one of these,
so the worker applies the same retry schedule to all of them without knowing how they send."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OutcomeKind(StrEnum):
    DELIVERED = "delivered"
    # Worth another try on the retry schedule: a timeout, a 5xx, a refused connection.
    RETRY = "retry"
    # Trying again cannot help: an SMTP 5xx rejection, a 410 Gone, a refused address.
    GIVE_UP = "give_up"


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    detail: str = ""
    status_code: int | None = None
    latency_ms: int | None = None
    response_excerpt: str = ""

    @classmethod
    def delivered(cls, detail: str = "", **extra) -> Outcome:
        return cls(OutcomeKind.DELIVERED, detail, **extra)

    @classmethod
    def retry(cls, detail: str, **extra) -> Outcome:
        return cls(OutcomeKind.RETRY, detail, **extra)

    @classmethod
    def give_up(cls, detail: str, **extra) -> Outcome:
        return cls(OutcomeKind.GIVE_UP, detail, **extra)
