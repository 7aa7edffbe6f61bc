"""The audit trail: every staff change to results, states, payments, overrides, adjustments,
users and API tokens writes one event in the same transaction as the change (so neither exists
without the other), whether it came from the portal, the API or the CLI (actor None).

Reading it: `parse_filter` turns query arguments into an `AuditFilter` (tournament, actor,
action, date range, inclusive, in UTC), `page_of` pages it newest first, and `csv_lines`
exports it with every cell made safe to open in a spreadsheet (`csv_safe`). Writing is
`record`, which lives in `app.auditing` (the notification layer records changes too) and is
re-exported here.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from app.auditing import record as record  # re-exported: services record through here
from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models import AuditEvent, Tournament, User
from app.services.inputs.numbers import parse_whole
from app.services.inputs.text import storable
from app.services.support.spreadsheet import safe_cell


def history(tournament_id: int, action: str | None = None) -> list[AuditEvent]:
    query = db.select(AuditEvent).where(AuditEvent.tournament_id == tournament_id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


# --------------------------------------------------------------------------- reading the log

PER_PAGE = 50
MAX_PAGE = 1_000_000
CSV_COLUMNS = ("id", "time", "actor", "action", "tournament", "target_type", "target_id", "before", "after", "reason")


@dataclass(frozen=True)
class AuditFilter:
    """What the audit log page and its CSV show. Every field is optional."""

    tournament: Tournament | None = None
    actor: User | None = None
    actor_cli: bool = False  # only changes made without a user (the CLI)
    action: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive

    def query(self) -> Select:
        query = select(AuditEvent)
        if self.tournament is not None:
            query = query.where(AuditEvent.tournament_id == self.tournament.id)
        if self.actor is not None:
            query = query.where(AuditEvent.actor_id == self.actor.id)
        elif self.actor_cli:
            query = query.where(AuditEvent.actor_id.is_(None))
        if self.action:
            query = query.where(AuditEvent.action == self.action)
        if self.since is not None:
            query = query.where(AuditEvent.created_at >= datetime.combine(self.since, time.min, tzinfo=UTC))
        if self.until is not None:
            end = datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=UTC)
            query = query.where(AuditEvent.created_at < end)
        return query


def _parse_date(name: str, raw: str) -> date:
    try:
        if len(raw) != 10:
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(f"{name}: expected a date as YYYY-MM-DD, got {raw[:40]!r}") from None


def parse_filter(args: Mapping[str, str]) -> AuditFilter:
    """Read filters from query arguments (`tournament` slug, `actor` email or `cli`, `action`,
    `from`/`to` dates); a bad value is a ValidationError naming it, unknown values are NotFound."""
    values = {k: (args.get(k) or "").strip() for k in ("tournament", "actor", "action", "from", "to")}
    for name, raw in values.items():
        if not storable(raw) or len(raw) > 255:
            raise ValidationError(f"{name}: not a usable value")
    tournament = actor = None
    if values["tournament"]:
        tournament = db.session.scalar(select(Tournament).where(Tournament.slug == values["tournament"]))
        if tournament is None:
            raise NotFound(f"no tournament with slug {values['tournament']!r}")
    actor_cli = values["actor"].lower() == "cli"
    if values["actor"] and not actor_cli:
        actor = db.session.scalar(select(User).where(func.lower(User.email) == values["actor"].lower()))
        if actor is None:
            raise NotFound(f"no user with email {values['actor']!r}")
    since = _parse_date("from", values["from"]) if values["from"] else None
    until = _parse_date("to", values["to"]) if values["to"] else None
    if since and until and since > until:
        raise ValidationError("from: must not be after to")
    return AuditFilter(tournament, actor, actor_cli, values["action"] or None, since, until)


def parse_page(raw: str | None) -> int:
    if raw is None or raw == "":
        return 1
    page = parse_whole(raw, max_digits=8)
    if page is None or not 1 <= page <= MAX_PAGE:
        raise ValidationError(f"page: expected a page number from 1 to {MAX_PAGE}")
    return page


@dataclass
class AuditPage:
    events: list[AuditEvent]
    page: int
    pages: int
    total: int


def page_of(flt: AuditFilter, page: int, per_page: int = PER_PAGE) -> AuditPage:
    """Newest first. A page past the end shows the last page, not an error."""
    total = db.session.scalar(select(func.count()).select_from(flt.query().subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    events = db.session.scalars(
        flt.query()
        .options(selectinload(AuditEvent.actor), selectinload(AuditEvent.tournament))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return AuditPage(list(events), page, pages, total)


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def actor_label(event: AuditEvent) -> str:
    if event.actor is not None:
        return event.actor.email
    return "cli" if event.actor_id is None else f"user {event.actor_id}"


# A changed value longer than this is cut in the summary line (the details show it whole).
DIFF_VALUE_CHARS = 80


def _shown_value(value: Any) -> str:
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= DIFF_VALUE_CHARS else text[: DIFF_VALUE_CHARS - 1] + "…"


def _flat(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted fields ("ranks.team-7"), so a change inside one shows alone."""
    flat: dict[str, Any] = {}
    for name, value in record.items():
        if isinstance(value, dict) and value:
            flat.update(_flat(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def field_changes(before: Any, after: Any) -> list[dict[str, str]]:
    """What an event changed, one line per field: `{"field", "before", "after"}`, in the order the
    fields were recorded (before's keys, then keys only after has; nested objects as dotted
    fields). Only fields whose value differs are listed, so a reader sees the change, not the
    record; a side that is not an object (or is missing) is compared as a whole as "value"."""
    if not isinstance(before, dict) and not isinstance(after, dict):
        if before == after:
            return []
        return [{"field": "value", "before": _shown_value(before), "after": _shown_value(after)}]
    old = _flat(before) if isinstance(before, dict) else {}
    new = _flat(after) if isinstance(after, dict) else {}
    names = list(dict.fromkeys([*old, *new]))
    return [
        {"field": name, "before": _shown_value(old.get(name)), "after": _shown_value(new.get(name))}
        for name in names
        if old.get(name) != new.get(name) or (name in old) != (name in new)
    ]


def pretty_json(value: Any) -> str:
    """The whole recorded object, indented, for the expandable details."""
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False)


def csv_safe(value: object) -> str:
    """Every audit cell is text (ids included), made safe to open in a spreadsheet."""
    return safe_cell("" if value is None else str(value))


def _json_cell(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def csv_lines(flt: AuditFilter, batch: int = 500) -> Iterator[str]:
    """The filtered log as CSV text, oldest first, read in batches so a long log streams."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    last_id = 0
    while True:
        rows = db.session.scalars(
            flt.query()
            .options(selectinload(AuditEvent.actor), selectinload(AuditEvent.tournament))
            .where(AuditEvent.id > last_id)
            .order_by(AuditEvent.id)
            .limit(batch)
        ).all()
        for event in rows:
            writer.writerow(
                [
                    csv_safe(v)
                    for v in (
                        event.id,
                        event.created_at.isoformat() if event.created_at else "",
                        actor_label(event),
                        event.action,
                        event.tournament.slug if event.tournament is not None else "",
                        event.target_type,
                        event.target_id,
                        _json_cell(event.before),
                        _json_cell(event.after),
                        event.reason,
                    )
                ]
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < batch:
            return
        last_id = rows[-1].id
