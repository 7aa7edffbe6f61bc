"""Lobby keys held for an open entry grid.

Rule: when a staff member opens the lobby grid, the next free key of the tournament (`m8`: past
every saved lobby's key and every key another open grid holds) is reserved for them in the
database, so two staff opening the grid at once, on any host, get `m8` and `m9`. A staff member
who already holds an unexpired, unsaved key gets the same one again (a reload or a second tab
does not burn keys, and saving the same lobby from two tabs is then refused as a duplicate).
A reservation lasts `RESERVATION_MINUTES`, is renewed on every open, and ends when a lobby is
saved under its key. Saving under a key that a saved lobby already has is refused (409) by
`states.record_br_match`, naming the lobby saved first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import LobbyKeyReservation, Match, Tournament, utcnow

RESERVATION_MINUTES = 120
MAX_ATTEMPTS = 50


def held_keys(tournament_id: int, now: datetime | None = None) -> set[str]:
    """Keys that open grids hold right now."""
    now = now or utcnow()
    return set(
        db.session.scalars(
            select(LobbyKeyReservation.key).where(
                LobbyKeyReservation.tournament_id == tournament_id, LobbyKeyReservation.expires_at > now
            )
        )
    )


def next_free_key(tournament_id: int, taken: set[str]) -> str:
    """`m<N>` from the lobby after the last one onwards, skipping every key in `taken`."""
    number = (db.session.scalar(select(func.max(Match.position)).where(Match.tournament_id == tournament_id)) or 0) + 1
    while f"m{number}" in taken:
        number += 1
    return f"m{number}"


def reserve_key(tournament: Tournament, user_id: int, now: datetime | None = None) -> str:
    """Reserve (or renew) this staff member's key for a new lobby of `tournament`; commits."""
    now = now or utcnow()
    expires = now + timedelta(minutes=RESERVATION_MINUTES)
    db.session.execute(
        delete(LobbyKeyReservation).where(
            LobbyKeyReservation.tournament_id == tournament.id, LobbyKeyReservation.expires_at <= now
        )
    )
    saved = set(db.session.scalars(select(Match.key).where(Match.tournament_id == tournament.id)))
    mine = db.session.scalar(
        select(LobbyKeyReservation)
        .where(LobbyKeyReservation.tournament_id == tournament.id, LobbyKeyReservation.user_id == user_id)
        .order_by(LobbyKeyReservation.id)
    )
    if mine is not None and mine.key not in saved:
        mine.expires_at = expires
        db.session.commit()
        return mine.key
    taken = saved | held_keys(tournament.id, now)
    for _ in range(MAX_ATTEMPTS):
        key = next_free_key(tournament.id, taken)
        try:
            with db.session.begin_nested():
                db.session.add(
                    LobbyKeyReservation(
                        tournament_id=tournament.id, key=key, user_id=user_id, created_at=now, expires_at=expires
                    )
                )
        except IntegrityError:
            taken.add(key)  # another grid took it between our read and our insert
            continue
        db.session.commit()
        return key
    raise RuntimeError("could not reserve a lobby key")  # pragma: no cover - 50 grids racing


def release(tournament_id: int, key: str) -> None:
    """The lobby is saved: its key is no longer held (in the caller's transaction)."""
    db.session.execute(
        delete(LobbyKeyReservation).where(
            LobbyKeyReservation.tournament_id == tournament_id, LobbyKeyReservation.key == key
        )
    )
