"""Demo data: what an organiser sees on day one of a real event.

Built as ordinary tournament files and loaded through the importer, so the demo exercises the
same validation and storage as an organiser's own file. Generated from a fixed seed: every
machine gets the same standings.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from app.services.tournaments.file import FORMAT

DEMO_SLUGS = (
    "ff-dhaka-cup",
    "pmcs-group-b",
    "ff-winter-qualifier",
    "val-uni-playoffs",
    "cs2-open-playoffs",
    "ff-monsoon-open",
)

FF_TEAMS = [
    "Team Phoenix", "Dhaka Dragons", "Night Owls", "Booyah Bandits", "Red Rush", "Silent Storm",
    "Bengal Tigers", "Cyber Wolves", "Echo <Squad>", "Fury Five", "Ghost Unit", "Headshot Heroes",
]  # fmt: skip
PUBG_TEAMS = [
    "Alpha Squad", "Bravo Esports", "Charlie Gaming", "Delta Force BD", "Eagle Eyes", "Falcon Fury",
    "Gamma Ray", "Hydra Esports", "Iron Legion", "Jade Dragons", "Kraken Crew", "Lotus Clan",
    "Mirage Five", "Nova Nine", "Orbit Esports", "Pulse Gaming",
]  # fmt: skip
VAL_TEAMS = ["Apex Aim", "Blue Ravens", "Crimson Five", "Dusk Protocol", "Eclipse", "Frost Line", "Glitch", "Halo Six"]
CS_TEAMS = ["Northern Lights", "Old Guard", "Pixel Pushers", "Quick Scope", "Rifle Kings", "Smoke Screen"]

START = datetime(2025, 11, 13, 14, 0, tzinfo=UTC)
REGISTRATION_SLUG = "ff-monsoon-open"


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _participants(names: list[str]) -> list[dict[str, str]]:
    return [{"id": f"team-{i}", "name": name} for i, name in enumerate(names, start=1)]


def _lobbies(
    rng: random.Random, teams: list[dict[str, str]], plan: list[tuple[str, str]], start: datetime, gap: int
) -> list[dict[str, Any]]:
    """Lobbies for `plan` = [(stage, state)]: random but plausible placements and kills
    (better placements tend to come with more kills)."""
    matches = []
    for index, (stage, state) in enumerate(plan):
        done = state in ("completed", "disputed")
        order = teams[:]
        rng.shuffle(order)
        results = []
        if state != "scheduled":
            for placement, team in enumerate(order, start=1):
                kills = max(0, int(rng.gauss(9 - placement * 0.5, 2.5)))
                results.append({"participant": team["id"], "placement": placement, "kills": kills})
        matches.append(
            {
                "key": f"m{index + 1}",
                "stage": stage,
                "state": state,
                "completed_at": _ts(start + timedelta(minutes=gap * index)) if done else None,
                "results": results if state != "live" else [],
            }
        )
    return matches


def _series(
    key: str, name: str, best_of: int, a: str, b: str, winners: list[str | None], *, live: bool = False, start: datetime
) -> dict[str, Any]:
    games = []
    for number, winner in enumerate(winners, start=1):
        score = {a: 13, b: 13 - 2 - number} if winner == a else {a: 8 + number, b: 13}
        games.append(
            {
                "key": f"{key}-{number}",
                "state": "completed",
                "completed_at": _ts(start + timedelta(hours=number)),
                "winner": winner,
                "score": score,
            }
        )
    if live:
        games.append(
            {
                "key": f"{key}-{len(winners) + 1}",
                "state": "live",
                "completed_at": None,
                "winner": None,
                "score": {a: 7, b: 9},
            }
        )
    return {
        "key": key,
        "name": name,
        "best_of": best_of,
        "participants": [a, b],
        "forfeit_winner": None,
        "games": games,
    }


def demo_documents() -> list[dict[str, Any]]:
    rng = random.Random(2025)
    ff = _participants(FF_TEAMS)
    pubg = _participants(PUBG_TEAMS)
    qualifier = _participants(FF_TEAMS[:8])
    val = _participants(VAL_TEAMS)
    cs = _participants(CS_TEAMS)
    t = [p["id"] for p in val]
    c = [p["id"] for p in cs]
    gf_forfeit = _series("gf", "Grand Final", 5, t[0], t[3], [], start=START + timedelta(days=10))
    gf_forfeit["forfeit_winner"] = t[0]
    cs_forfeit = _series("lcq", "Last-chance qualifier", 3, c[5], c[4], [c[5]], start=START - timedelta(days=1))
    cs_forfeit["forfeit_winner"] = c[5]  # the other team did not show up for game 2
    return [
        {
            "format": FORMAT,
            "tournament": {
                "name": "Free Fire Dhaka Cup",
                "slug": "ff-dhaka-cup",
                "game": "freefire",
                "status": "live",
                "scoring": {"preset": "ffws"},
            },
            "participants": ff,
            "matches": _lobbies(
                rng,
                ff,
                [("Day 1", "completed")] * 3
                + [("Day 2", "completed")] * 2
                + [("Day 2", "live"), ("Day 2", "scheduled")],
                START,
                40,
            ),
            "adjustments": [
                {"participant": "team-5", "points": -3, "reason": "Late to lobby in match 3"},
                {"participant": "team-9", "points": 2, "reason": "Fair play award"},
            ],
        },
        {
            "format": FORMAT,
            "tournament": {
                "name": "PUBG Mobile Campus Series - Group B",
                "slug": "pmcs-group-b",
                "game": "pubgm",
                "status": "live",
                # The top 8 of the group go through: the page draws the advancement line.
                "advancing": 8,
                "scoring": {"preset": "pmgc"},
            },
            "participants": pubg,
            "matches": _lobbies(
                rng,
                pubg,
                [("Group B", "completed")] * 4 + [("Group B", "disputed"), ("Group B", "completed")],
                START + timedelta(days=7),
                45,
            ),
        },
        {
            "format": FORMAT,
            "tournament": {
                "name": "Free Fire Winter Qualifier",
                "slug": "ff-winter-qualifier",
                "game": "freefire",
                "status": "completed",
                "scoring": {"preset": "deltacrown"},
            },
            "participants": qualifier,
            "matches": _lobbies(rng, qualifier, [("Qualifier", "completed")] * 4, START - timedelta(days=20), 35),
        },
        {
            "format": FORMAT,
            "tournament": {"name": "Valorant University Playoffs", "slug": "val-uni-playoffs", "game": "valorant"},
            "participants": val,
            "series": [
                _series("qf1", "Quarter-final 1", 3, t[0], t[7], [t[0], t[0]], start=START),
                _series("qf2", "Quarter-final 2", 3, t[1], t[6], [t[1], t[6], t[1]], start=START),
                _series("qf3", "Quarter-final 3", 1, t[2], t[5], [t[5]], start=START),
                _series("qf4", "Quarter-final 4", 3, t[3], t[4], [t[3]], live=True, start=START),
                _series("show", "Showmatch", 2, t[1], t[2], [t[1], t[2]], start=START + timedelta(days=1)),
                _series("sf1", "Semi-final 1", 3, t[0], t[1], [], start=START + timedelta(days=2)),
                gf_forfeit,
            ],
        },
        {
            "format": FORMAT,
            "tournament": {"name": "CS2 Open Playoffs", "slug": "cs2-open-playoffs", "game": "cs2"},
            "participants": cs,
            "series": [
                _series("sf1", "Semi-final 1", 3, c[0], c[3], [c[0], c[3], c[0]], start=START),
                _series("sf2", "Semi-final 2", 3, c[1], c[2], [c[2], c[2]], start=START),
                _series("gf", "Grand Final", 5, c[0], c[2], [c[2], c[0]], live=True, start=START + timedelta(days=1)),
                _series("bronze", "Third place", 1, c[3], c[1], [], start=START + timedelta(days=1)),
                _series("show", "Showmatch", 2, c[4], c[5], [c[4], c[5]], start=START),
                cs_forfeit,
            ],
        },
        {
            # Taking entries: its teams arrive through registration (ensure_demo_registrations).
            "format": FORMAT,
            "tournament": {
                "name": "Free Fire Monsoon Open",
                "slug": REGISTRATION_SLUG,
                "game": "freefire",
                "status": "registration",
                "scoring": {"preset": "ffws"},
            },
            "participants": [],
            "matches": [],
        },
    ]


@contextmanager
def one_transaction() -> Iterator[None]:
    """Run the demo's many service calls as one transaction. The services commit each step, as
    they must for real use; here each of those commits only flushes, and the whole is committed
    at the end or rolled back on any error (the demo is all there or not at all)."""
    from app.extensions import db

    session = db.session()
    session.commit = session.flush  # type: ignore[method-assign]
    try:
        yield
    except BaseException:
        del session.commit
        session.rollback()
        raise
    del session.commit
    session.commit()


def load_demo(progress: Callable[[str], None] | None = None) -> list[str]:
    """Import every demo tournament that is not there yet; returns the slugs imported."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Tournament
    from app.services.tournaments.file import import_tournament

    present = set(db.session.scalars(select(Tournament.slug).where(Tournament.slug.in_(DEMO_SLUGS))))
    loaded = []
    for doc in demo_documents():
        slug = doc["tournament"]["slug"]
        if slug in present:
            continue
        if progress:
            progress(doc["tournament"]["name"])
        import_tournament(doc)
        loaded.append(slug)
    return loaded


# Demo player accounts: each is on a team of a demo tournament (the link notifications follow),
# so logging in as one shows the inbox, the header badge and the email preferences at work.
DEMO_PLAYERS = (
    ("player1@deltacrown.local", "Demo Player 1", "cs2-open-playoffs", "team-1"),  # live grand final
    ("player2@deltacrown.local", "Demo Player 2", "val-uni-playoffs", "team-4"),  # live quarter-final
    ("player3@deltacrown.local", "Demo Player 3", "ff-dhaka-cup", "team-1"),  # live lobby
)


def ensure_demo_players(
    password: str, notify_live_match: Callable[[Any, Any, Any], None] | None = None, *, reset: bool = False
) -> list[str]:
    """Create the demo players once (on their team, with a pending entry fee to verify), with
    `password`. Returns the emails given `password`: the new ones, or all of them with `reset`. A
    player who already exists keeps their password (and their sessions) otherwise. A new player's
    live match is handed to `notify_live_match` (user, tournament, match), which the caller makes
    into an inbox item: services do not write notifications. Does not commit."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Match, Participant, Payment, Registration, Tournament, User, utcnow

    emails = []
    for email, name, slug, team_key in DEMO_PLAYERS:
        tournament = db.session.scalar(select(Tournament).where(Tournament.slug == slug))
        if tournament is None:
            continue
        user = db.session.scalar(select(User).where(User.email == email))
        created = user is None
        if user is None:
            user = User(email=email, display_name=name, email_verified_at=utcnow())
            db.session.add(user)
            db.session.flush()
            team = db.session.scalar(
                select(Participant).where(Participant.tournament_id == tournament.id, Participant.key == team_key)
            )
            registration = Registration(tournament_id=tournament.id, participant_id=team.id, user_id=user.id)
            db.session.add(registration)
            db.session.flush()
            fee = Payment(registration_id=registration.id, amount_cents=50000, method="bKash", reference="DEMO")
            db.session.add(fee)
            live = db.session.scalars(
                select(Match).where(Match.tournament_id == tournament.id, Match.state == "live").order_by(Match.id)
            )
            for match in live:
                if match.series is None or team.id in (match.series.participant_a_id, match.series.participant_b_id):
                    if notify_live_match is not None:
                        notify_live_match(user, tournament, match)
                    break
        if created or reset:
            user.set_password(password)
            emails.append(email)
    return emails


# Captains of the registration demo, and what each has done so far: the staff queue opens on
# two proofs awaiting a decision, a rejected proof, an unpaid entry and a waiting-listed team.
DEMO_CAPTAINS = (
    ("captain1@deltacrown.local", "Monsoon Phoenix", "verified"),
    ("captain2@deltacrown.local", "Rain Runners", "submitted"),
    ("captain3@deltacrown.local", "Thunder Booyah", "submitted"),
    ("captain4@deltacrown.local", "Cloud Nine BD", "rejected"),
    ("captain5@deltacrown.local", "Storm Chasers", "unpaid"),
    ("captain6@deltacrown.local", "Late Lightning", "waitlisted"),
)


def ensure_demo_registrations(staff_id: int, password: str, *, reset: bool = False) -> list[str]:
    """Open registration on the demo's registration tournament (once) with the DEMO_CAPTAINS'
    entries, through the entries service like real captains and staff. Returns the captains
    given `password`: the new ones, or all of them with `reset` (existing captains keep their
    password and sessions, as the players do). Commits (the service commits each step)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Tournament, User, utcnow
    from app.services.registration import decisions, entries, settings_save
    from app.services.registration import settings as registration_settings

    tournament = db.session.scalar(select(Tournament).where(Tournament.slug == REGISTRATION_SLUG))
    if tournament is None:
        return []
    captains = {}
    given = []
    for email, _team, _step in DEMO_CAPTAINS:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None or reset:
            if user is None:
                # Made by the demo like an admin makes accounts: the address counts as confirmed
                # (with email on, an unconfirmed captain could not register).
                user = User(email=email, display_name=email.split("@")[0].title(), email_verified_at=utcnow())
                db.session.add(user)
            user.set_password(password)
            given.append(email)
        if user.email_verified_at is None:
            user.email_verified_at = utcnow()
        captains[email] = user
    db.session.commit()
    if registration_settings.settings_for(tournament.id) is not None:
        return given
    now = utcnow().replace(microsecond=0)
    settings = {
        "opens_at": _ts(now - timedelta(days=2)),
        "closes_at": _ts(now + timedelta(days=12)),
        "starts_at": _ts(now + timedelta(days=14)),
        "capacity": 5,
        "roster_min": 1,
        "roster_max": 4,
        "fee": {"amount": "500.00", "currency": "BDT"},
        "methods": [
            {"name": "bkash", "instructions": "bKash merchant 01700-000000, reference = your registration code"},
            {"name": "nagad", "instructions": "Nagad 01800-000000 (send money), reference = your registration code"},
        ],
        "payment_deadline_hours": 48,
        "auto_confirm_free": True,
        "check_in_minutes": 60,
    }
    settings_save.save_settings(tournament.id, settings, staff_id)
    for number, (email, team, step) in enumerate(DEMO_CAPTAINS, start=1):
        entry = entries.register(tournament.id, captains[email].id, team, team.split()[0][:4].upper())
        if step in ("verified", "submitted", "rejected"):
            entries.submit_proof(
                entry.id,
                captains[email].id,
                method="bkash" if number % 2 else "nagad",
                transaction_id=f"DEMO{number}TX{7300 + number}",
                amount="500.00",
                sender_last_digits=f"{4200 + number}",
            )
        if step == "verified":
            decisions.decide(entry.id, "verify", staff_id)
        elif step == "rejected":
            decisions.decide(entry.id, "reject", staff_id, reason="Transaction ID not found in our bKash statement")
    return given
