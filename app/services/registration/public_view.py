"""What the public page and the captain's page show about a tournament's registration right now:
the window's state (none | upcoming | open | waitlist | closed; `waitlist` when open and every
slot is taken), the slots left, the fee and its methods, the roster size and the check-in window;
and the list of the tournament's teams the public page shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Entry,
    EntryStatus,
    Participant,
    Tournament,
)
from app.money import format_money
from app.services.registration.roster_visibility import is_visible
from app.services.registration.settings import (
    check_in_window,
    settings_for,
    window_state,
)
from app.services.registration.slots import (
    resolve_now,
    slots_taken,
)


@dataclass(frozen=True)
class RegistrationView:
    """What the public page and the captain's page show about registration right now."""

    state: str  # none | upcoming | open | waitlist | closed
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    starts_at: datetime | None = None
    capacity: int = 0
    taken: int = 0
    slots_left: int = 0
    waitlisted: int = 0
    fee_cents: int = 0
    currency: str = "BDT"
    fee_display: str = "Free"
    methods: list[dict[str, str]] = field(default_factory=list)
    payment_deadline_hours: int = 48
    roster_min: int = 1
    roster_max: int = 1
    check_in_opens_at: datetime | None = None
    check_in_closes_at: datetime | None = None
    captain_phone_required: bool = False

    @property
    def is_open(self) -> bool:
        return self.state in ("open", "waitlist")


def public_state(tournament: Tournament, now: datetime | None = None) -> RegistrationView:
    """The registration state the public page shows (see RegistrationView.state)."""
    settings = settings_for(tournament.id)
    if settings is None:
        return RegistrationView(state="none")
    now = resolve_now(now)
    taken = slots_taken(tournament.id)
    waitlisted = db.session.scalar(
        select(func.count(Entry.id)).where(
            Entry.tournament_id == tournament.id, Entry.status == EntryStatus.WAITLISTED.value
        )
    )
    state = window_state(settings, tournament, now)
    if state == "open" and taken >= settings.capacity:
        state = "waitlist"
    opens, closes = check_in_window(settings)
    return RegistrationView(
        state=state,
        opens_at=settings.opens_at,
        closes_at=settings.closes_at,
        starts_at=settings.starts_at,
        capacity=settings.capacity,
        taken=taken,
        slots_left=max(settings.capacity - taken, 0),
        waitlisted=waitlisted,
        fee_cents=settings.fee_cents,
        currency=settings.currency,
        fee_display=format_money(settings.fee_cents, settings.currency) if settings.fee_cents else "Free",
        methods=[dict(m) for m in settings.methods or []],
        payment_deadline_hours=settings.payment_deadline_hours,
        roster_min=settings.roster_min,
        roster_max=settings.roster_max,
        check_in_opens_at=opens,
        check_in_closes_at=closes,
        captain_phone_required=bool(settings.captain_phone_required),
    )


@dataclass(frozen=True)
class PublicTeam:
    name: str
    tag: str | None


def confirmed_teams(tournament_id: int) -> list[PublicTeam]:
    """The tournament's teams for its public page, in the order they joined: the teams staff
    added and the registrations confirmed (`roster_visibility`). Names and tags only: who plays
    on a team, its captain and its registration are nobody else's business."""
    rows = db.session.execute(
        select(Participant.name, Participant.tag)
        .where(Participant.tournament_id == tournament_id, is_visible(Participant.id, tournament_id))
        .order_by(Participant.id)
    ).all()
    return [PublicTeam(name, tag) for name, tag in rows]
