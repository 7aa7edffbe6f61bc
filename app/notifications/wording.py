"""What a player is told about an event: one wording for the inbox and for email.

Built from the event's `data` (ids, keys, public names) and the rows those ids still name, so the
worker can word an email long after the change, and an email still makes sense when a row has
gone since (it falls back to the names in `data`). Only the recipient's own team and rank are
personal, and they are only ever shown to that recipient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Entry,
    Match,
    MatchResult,
    Participant,
    Payment,
    PaymentProof,
    ProofStatus,
    Registration,
    RegistrationSettings,
    Tournament,
    TournamentResult,
    is_db_id,
)
from app.scoring import ruleset_for


@dataclass
class EventView:
    type: str
    title: str
    body: str
    # Site path of the page to open (no host): the inbox links to it, emails prefix PUBLIC_BASE_URL.
    path: str | None
    tournament_name: str
    details: dict[str, Any] = field(default_factory=dict)


def _get(model: type, value: Any) -> Any:
    return db.session.get(model, value) if is_db_id(value) else None


def site_path(endpoint: str, **values: Any) -> str:
    """A URL path without a request (the services run from the CLI and the worker too)."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def absolute_url(path: str) -> str:
    """PUBLIC_BASE_URL + a site path; emails need full links and the worker has no request to ask."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return base + path


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _match_label(match: Match | None, data: dict[str, Any]) -> tuple[str, str | None]:
    """("Grand Final, game 2: Apex Aim vs Eclipse", teams) or ("Match m3 (Day 2)", None)."""
    if match is not None and match.series is not None:
        series = match.series
        teams = f"{series.participant_a.name} vs {series.participant_b.name}"
        return f"{series.name or series.key}, game {match.game_number}: {teams}", teams
    key = match.key if match is not None else data.get("match_key", "?")
    stage = match.stage if match is not None else data.get("stage")
    if data.get("series_key"):
        return f"Series {data['series_key']}, match {key}", None
    return f"Match {key}" + (f" ({stage})" if stage else ""), None


def _recipient_teams(user_id: int | None, tournament_id: int | None) -> list[Participant]:
    if user_id is None or tournament_id is None:
        return []
    return list(
        db.session.scalars(
            select(Participant)
            .join(Registration, Registration.participant_id == Participant.id)
            .where(Registration.user_id == user_id, Registration.tournament_id == tournament_id)
            .order_by(Participant.id)
        )
    )


def _lobby_lines(tournament: Tournament | None, match: Match, user_id: int | None) -> list[tuple[str, str, str]]:
    """(team name, placement, "9 kills, 21 pts") for each of the reader's teams in a lobby, best first."""
    if tournament is None or user_id is None:
        return []
    teams = {team.id: team for team in _recipient_teams(user_id, tournament.id)}
    if not teams:
        return []
    ruleset = ruleset_for(
        tournament.game,
        tournament.scoring_preset,
        tournament.placement_points,
        tournament.kill_points,
        tournament.tiebreakers,
    )
    rows = db.session.scalars(
        select(MatchResult)
        .where(MatchResult.match_id == match.id, MatchResult.participant_id.in_(teams))
        .order_by(MatchResult.placement)
    )
    lines = []
    for row in rows:
        points = ruleset.placement_score(row.placement) + row.kills * ruleset.kill_points
        kills = f"{row.kills} kill" + ("" if row.kills == 1 else "s")
        lines.append((teams[row.participant_id].name, f"{_ordinal(row.placement)}", f"{kills}, {points} pts"))
    return lines


def describe(event_type: str, data: dict[str, Any], user_id: int | None = None) -> EventView:
    """The wording of one event, for `user_id` when given (their team, their rank)."""
    tournament = _get(Tournament, data.get("tournament_id"))
    slug = tournament.slug if tournament is not None else data.get("tournament_slug")
    tournament_name = tournament.name if tournament is not None else data.get("tournament_name") or slug or "?"
    path = site_path("public.tournament", slug=slug) if slug else None
    details: dict[str, Any] = {"tournament_slug": slug}

    if event_type in ("payment.verified", "payment.refunded"):
        team = data.get("participant_name", "your team")
        payment = _get(Payment, data.get("payment_id"))
        if payment is not None:
            details["amount"] = f"{payment.amount_cents / 100:,.2f} {payment.currency}"
            details["reference"] = payment.reference
        details["team"] = team
        if event_type == "payment.verified":
            title = f"Payment verified: {team}"
            body = f"Your entry payment for {team} in {tournament_name} has been verified. You are all set."
        else:
            title = f"Payment refunded: {team}"
            body = f"Your entry payment for {team} in {tournament_name} has been refunded."
        return EventView(event_type, title, body, path, tournament_name, details)

    if event_type.startswith("match."):
        match = _get(Match, data.get("match_id"))
        label, teams = _match_label(match, data)
        details.update(match_label=label, teams=teams, state=data.get("state"))
        if match is not None and match.series is not None and slug:
            path = site_path("public.series", slug=slug, series_key=match.series.key)
        elif data.get("series_key") and slug:
            path = site_path("public.series", slug=slug, series_key=data["series_key"])
        if event_type == "match.started":
            title = f"Live now: {label}"
            body = f"{label} in {tournament_name} has started."
        elif event_type == "match.completed":
            title = f"Finished: {label}"
            result = ""
            if match is not None and match.series is not None and match.winner is not None:
                score = ""
                if match.score_a is not None and match.score_b is not None:
                    score = f" ({match.score_a}-{match.score_b})"
                result = f" {match.winner.name} won{score}."
                details.update(winner=match.winner.name, score=score.strip(" ()"))
            elif match is not None and match.series is None:
                result = " The standings now include it."
                # Personal: how the reader's own team did (fan_out words this event per recipient).
                mine = _lobby_lines(tournament, match, user_id)
                if mine:
                    _team, place, figures = mine[0]
                    title = f"Finished {place} in {label}: {figures}"
                    result += "".join(f" {team} finished {p}: {f}." for team, p, f in mine)
                    details.update(placement=place, figures=figures)
            body = f"{label} in {tournament_name} is complete.{result}"
        else:
            title = f"Under review: {label}"
            body = (
                f"The result of {label} in {tournament_name} has been disputed. It does not count "
                "until the organisers settle it."
            )
        return EventView(event_type, title, body, path, tournament_name, details)

    if event_type == "tournament.completed":
        title = f"Final results: {tournament_name}"
        body = f"{tournament_name} is complete and its final results are published."
        placements = []
        for team in _recipient_teams(user_id, data.get("tournament_id")):
            result = db.session.scalar(
                select(TournamentResult).where(
                    TournamentResult.tournament_id == team.tournament_id, TournamentResult.participant_id == team.id
                )
            )
            if result is not None:
                placements.append({"team": team.name, "rank": result.rank, "place": _ordinal(result.rank)})
        if placements:
            body += " " + " ".join(f"{p['team']} finished {p['place']}." for p in placements)
        details["placements"] = placements
        return EventView(event_type, title, body, path, tournament_name, details)

    if event_type == "placement.overridden":
        team = data.get("participant_name", "?")
        old_rank, new_rank = data.get("old_rank"), data.get("new_rank")
        details.update(team=team, old_rank=old_rank, new_rank=new_rank)
        title = f"Final placement changed: {team}"
        moved = (
            f"from {_ordinal(old_rank)} to {_ordinal(new_rank)}"
            if isinstance(old_rank, int) and isinstance(new_rank, int)
            else "to a new place"
        )
        body = f"The organisers moved {team} {moved} in the final results of {tournament_name}."
        return EventView(event_type, title, body, path, tournament_name, details)

    if event_type in _ENTRY_EVENTS:
        return _describe_entry(event_type, data, tournament, tournament_name, details)

    return EventView(event_type, event_type, "", path, tournament_name, details)


_ENTRY_EVENTS = (
    "payment.submitted",
    "payment.rejected",
    "registration.confirmed",
    "registration.cancelled",
    "registration.offered",
)

# Why a registration ended, in the words a captain reads (data["reason"] of registration.cancelled).
CANCEL_REASONS = {
    "deadline": "The entry fee was not paid before the payment deadline, so the place went to the next team.",
    "withdrawn": "Your team withdrew. If the entry fee was verified, the organisers will refund it.",
    "no_show": "Your team did not check in before the check-in window closed, so the place went to the next team.",
    "rejected": "The organisers turned the registration down.",
}


def _when(value: Any) -> str:
    return value.strftime("%d %b %Y, %H:%M UTC") if value is not None else ""


def _describe_entry(
    event_type: str, data: dict[str, Any], tournament: Tournament | None, tournament_name: str, details: dict
) -> EventView:
    """Registration news. Payment details (amounts, transaction ids, a rejection's reason) are
    read from the rows here, never carried in `data`, which also goes to webhook receivers."""
    entry = _get(Entry, data.get("registration_id"))
    team = entry.team_name if entry is not None else data.get("team_name") or "your team"
    code = entry.code if entry is not None else data.get("registration_code") or ""
    details.update(team=team, code=code)
    if event_type == "payment.submitted":
        path = site_path("staff.registrations", slug=tournament.slug) if tournament is not None else None
        title = f"Payment proof to check: {team}"
        body = f"{team} ({code}) sent a payment proof for {tournament_name}. It is waiting in the registration queue."
        return EventView(event_type, title, body, path, tournament_name, details)

    path = site_path("players.registration", entry_id=entry.id) if entry is not None else None
    if event_type == "payment.rejected":
        proof = None
        if entry is not None:
            proof = db.session.scalar(
                select(PaymentProof)
                .where(PaymentProof.entry_id == entry.id, PaymentProof.status == ProofStatus.REJECTED.value)
                .order_by(PaymentProof.id.desc())
                .limit(1)
            )
        details["reason"] = proof.reason if proof is not None else ""
        details["deadline"] = _when(entry.payment_deadline) if entry is not None else ""
        title = f"Payment not accepted: {team}"
        body = f"The organisers of {tournament_name} could not match the payment you sent for {team} ({code})."
        if details["reason"]:
            body += f" Their reason: {details['reason']}"
        body += " Send the proof again from your registration page"
        body += f" before {details['deadline']}." if details["deadline"] else "."
        return EventView(event_type, title, body, path, tournament_name, details)

    if event_type == "registration.confirmed":
        how = {
            "verified": "Your entry fee has been verified.",
            "waived": "The organisers waived your entry fee.",
        }.get(data.get("payment_status") or "", "")
        details["how"] = how
        details["check_in"] = ""
        settings = (
            db.session.scalar(select(RegistrationSettings).where(RegistrationSettings.tournament_id == tournament.id))
            if tournament is not None
            else None
        )
        if settings is not None and settings.check_in_minutes and settings.starts_at is not None:
            opens = settings.starts_at - timedelta(minutes=settings.check_in_minutes)
            details["check_in"] = f"{_when(opens)} to {_when(settings.starts_at)}"
        title = f"Registration confirmed: {team}"
        body = f"{team} is confirmed for {tournament_name} (registration {code})."
        if how:
            body += " " + how
        if details["check_in"]:
            body += f" Check in from {details['check_in']}."
        return EventView(event_type, title, body, path, tournament_name, details)

    if event_type == "registration.offered":
        paying = entry is not None and entry.status == "pending_payment" and entry.payment_deadline is not None
        details["deadline"] = _when(entry.payment_deadline) if paying else ""
        title = f"A place for {team}: pay to keep it" if paying else f"A place for {team}"
        body = f"A place in {tournament_name} has freed up and {team} ({code}) was next on the waiting list."
        if paying:
            body += f" Pay the entry fee and send the proof before {details['deadline']}, or the place goes"
            body += " to the next team."
        else:
            body += " Your registration page says what is left to do."
        return EventView(event_type, title, body, path, tournament_name, details)

    reason = data.get("reason") or ""
    details["reason"] = reason
    details["why"] = CANCEL_REASONS.get(reason, "The registration is no longer active.")
    title = f"Registration {'withdrawn' if reason == 'withdrawn' else 'cancelled'}: {team}"
    body = f"The registration of {team} for {tournament_name} ({code}) has ended. {details['why']}"
    return EventView(event_type, title, body, path, tournament_name, details)
