"""Saving a tournament's registration settings (the contract §7 JSON, read by
app/services/registration/settings.py).

The rule: capacity cannot drop below the teams already holding a slot (counted under the
registration lock), and a larger capacity offers the new slots to the waiting list at once; staff
only; one audit event `registration.settings_saved` with the settings before and after."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from app.errors import Conflict
from app.extensions import db
from app.models import (
    RegistrationSettings,
)
from app.services import audit
from app.services.registration import deadlines
from app.services.registration.settings import (
    parse_settings,
    settings_for,
    settings_to_json,
)
from app.services.registration.slots import (
    fill_slots,
    get_tournament,
    lock_registration,
    resolve_now,
    slots_taken,
    staff_user,
)


def save_settings(
    tournament_id: int, payload: dict, actor_id: int, now: datetime | None = None
) -> RegistrationSettings:
    """Create or replace a tournament's settings from the contract §7 JSON shape (plus the
    optional `starts_at`). Capacity cannot drop below the teams already holding a slot; a
    larger capacity offers the new slots to the waiting list at once. Staff only; commits."""
    actor = staff_user(actor_id)
    tournament = get_tournament(tournament_id)
    values = parse_settings(payload)
    now = resolve_now(now)
    settings = settings_for(tournament.id)
    if settings is None:
        settings = RegistrationSettings(tournament_id=tournament.id, **values)
        db.session.add(settings)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            raise Conflict("the settings were created by someone else just now; reload and try again") from None
        before = None
    else:
        settings = lock_registration(tournament.id)
        before = settings_to_json(settings)
        taken = slots_taken(tournament.id)
        if values["capacity"] < taken:
            db.session.rollback()
            raise Conflict(f"capacity: {taken} teams already hold a slot; the capacity cannot be lower")
        for name, value in values.items():
            setattr(settings, name, value)
        db.session.flush()
        deadlines.bring_forward(settings, now)
        fill_slots(settings, now)
    audit.record(
        "registration.settings_saved",
        target_type="tournament",
        target_id=tournament.id,
        actor_id=actor.id,
        tournament_id=tournament.id,
        before=before,
        after=settings_to_json(settings),
    )
    db.session.commit()
    return settings
