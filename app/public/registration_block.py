"""The registration block of the public tournament page, and what its cached copy depends on.

Rule: the page body is cached per results version (app/live.py), but slots are taken and
freed without touching results. So the block's own state -- what `public_view.public_state` says
(open/waitlist/closed, slots taken, fee, methods, times), plus the minute while "Opens in …"
counts down -- is added to the cache key of the full page. Every change of slot count or state
is then a new key: the next visitor gets a fresh page, the cached standings fragment (polled
every second, which never shows this block) is untouched, and an unchanged page costs the
few indexed counts `public_state` makes.

The list of the tournament's teams on the same page follows the same rule: a confirmation or an
entry ending changes no results, so a digest of the list is part of the page's cache key
(`teams_cache_key`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from app.models import Tournament, utcnow
from app.services.registration import public_view


def state_for(tournament: Tournament, now: datetime | None = None) -> public_view.RegistrationView:
    return public_view.public_state(tournament, now)


def cache_key(view: public_view.RegistrationView, now: datetime | None = None) -> tuple[str, ...]:
    if view.state == "none":
        return ("registration", "none")
    countdown = ""
    if view.state == "upcoming":
        countdown = (now or utcnow()).strftime("%Y%m%d%H%M")
    digest = hashlib.blake2s(repr(view).encode(), digest_size=8).hexdigest()
    return ("registration", view.state, digest, countdown)


def until(moment: datetime | None, now: datetime | None = None) -> str:
    """A short "in 3 days" / "in 5 hours" / "in 12 minutes" for the countdown."""
    if moment is None:
        return ""
    seconds = (moment - (now or utcnow())).total_seconds()
    if seconds <= 60:
        return "in a minute"
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"in {minutes} minutes"
    hours = round(seconds / 3600)
    if hours < 48:
        return f"in {hours} hours"
    return f"in {round(seconds / 86400)} days"


def context(tournament: Tournament, view: public_view.RegistrationView | None) -> dict:
    """What `public/_registration.html` reads. Nothing about the visitor: the page body is shared
    by every viewer, logged in or not (app/live.py), so a captain reaches their own entry
    through the Register button, which takes them to it, and through "My registrations"."""
    if view is None:
        return {"registration": None}
    return {"registration": view, "registration_opens_in": until(view.opens_at)}


def teams_for(tournament_id: int) -> list[public_view.PublicTeam]:
    return public_view.confirmed_teams(tournament_id)


def teams_cache_key(teams: list[public_view.PublicTeam]) -> tuple[str, ...]:
    digest = hashlib.blake2s(repr(teams).encode(), digest_size=8).hexdigest()
    return ("teams", str(len(teams)), digest)
