"""What a player is told about an event: one wording for the inbox and for email.

Built from the event's `data` (ids, keys, public names), its `notice` (what only people read: a
staff reason or note, before -> after) and the rows those ids still name, so the worker can word
an email long after the change, and an email still makes sense when a row has gone since (it
falls back to the names in `data`). Only the recipient's own team and rank are personal, and they
are only ever shown to that recipient.

Every sentence states what happened, never what usually happens: a place "went to the next team"
only when one was waiting, a fee is mentioned with its amount and what becomes of it. Amounts are
written by app/money.py (as on the site); times by `when` (UTC, until tournaments have a zone).
Registration news is worded in `entry_wording`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Announcement,
    Entry,
    Match,
    MatchResult,
    Participant,
    Payment,
    PaymentProof,
    PaymentVerification,
    ProofStatus,
    Registration,
    Tournament,
    TournamentResult,
    is_db_id,
)
from app.money import format_money
from app.scoring import ordinal, tournament_ruleset


@dataclass
class EventView:
    type: str
    title: str
    body: str
    # Site path of the page to open (no host): the inbox links to it, emails prefix PUBLIC_BASE_URL.
    path: str | None
    tournament_name: str
    details: dict[str, Any] = field(default_factory=dict)
    # Why this reader gets it, for an email's footer ("you captain Storm Chasers' registration
    # for ..."): a waiting-listed captain does not yet play in the tournament.
    why: str = ""


def _get(model: type, value: Any) -> Any:
    return db.session.get(model, value) if is_db_id(value) else None


def site_path(endpoint: str, **values: Any) -> str:
    """A URL path without a request (the services run from the CLI and the worker too)."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def absolute_url(path: str) -> str:
    """PUBLIC_BASE_URL + a site path; emails need full links and the worker has no request to ask."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return base + path


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
    ruleset = tournament_ruleset(tournament)
    rows = db.session.scalars(
        select(MatchResult)
        .where(MatchResult.match_id == match.id, MatchResult.participant_id.in_(teams))
        .order_by(MatchResult.placement)
    )
    lines = []
    for row in rows:
        points = ruleset.lobby_points(row.placement, row.kills)
        kills = f"{row.kills} kill" + ("" if row.kills == 1 else "s")
        lines.append((teams[row.participant_id].name, f"{ordinal(row.placement)}", f"{kills}, {points} pts"))
    return lines


def _line(values: Any) -> str:
    """[placement, kills, points] -> "1st, 17 kills, 29 pts"; None -> "no result"."""
    if not isinstance(values, list | tuple) or len(values) != 3:
        return "no result"
    placement, kills, points = values
    return f"{ordinal(placement)}, {kills} kill{'' if kills == 1 else 's'}, {points} pts"


def _team_names(tournament_id: Any, keys: set[str]) -> dict[str, str]:
    if not is_db_id(tournament_id) or not keys:
        return {}
    return dict(
        db.session.execute(
            select(Participant.key, Participant.name).where(
                Participant.tournament_id == tournament_id, Participant.key.in_(keys)
            )
        ).all()
    )


def _why_playing(tournament_name: str, teams: list[Participant]) -> str:
    if teams:
        return f"you play for {', '.join(t.name for t in teams)} in {tournament_name}"
    return f"you play in {tournament_name}"


def describe(
    event_type: str, data: dict[str, Any], user_id: int | None = None, *, notice: dict[str, Any] | None = None
) -> EventView:
    """The wording of one event, for `user_id` when given (their team, their rank)."""
    notice = notice or {}
    tournament = _get(Tournament, data.get("tournament_id"))
    slug = tournament.slug if tournament is not None else data.get("tournament_slug")
    tournament_name = tournament.name if tournament is not None else data.get("tournament_name") or slug or "?"
    path = site_path("public.tournament", slug=slug) if slug else None
    details: dict[str, Any] = {"tournament_slug": slug}
    mine = _recipient_teams(user_id, tournament.id if tournament is not None else None)
    why = _why_playing(tournament_name, mine)

    if event_type in ("payment.verified", "payment.refunded"):
        view = _describe_payment(event_type, data, tournament_name, details)
        view.path, view.why = path, why
        return view

    if event_type.startswith("match."):
        view = _describe_match(event_type, data, notice, tournament, tournament_name, details, user_id, mine)
        view.path = view.path or path
        view.why = why
        return view

    if event_type == "tournament.completed":
        title = f"Final results: {tournament_name}"
        body = f"{tournament_name} is complete and its final results are published."
        placements = _placements(tournament, mine)
        if placements:
            body += " " + " ".join(p["sentence"] for p in placements)
        details["placements"] = placements
        return EventView(event_type, title, body, path, tournament_name, details, why)

    if event_type == "placement.overridden":
        return _describe_override(data, notice, tournament, tournament_name, details, path, mine, why)

    if event_type == "tournament.announcement":
        announcement = _get(Announcement, data.get("announcement_id"))
        subject = announcement.subject if announcement is not None else "Announcement"
        body = announcement.body if announcement is not None else "(This announcement is no longer available.)"
        details.update(subject=subject, message=body)
        title = f"{tournament_name}: {subject}"
        return EventView(event_type, title, body, path, tournament_name, details)

    if event_type in _ENTRY_EVENTS:
        # entry_wording builds on this module's EventView and helpers, so it is imported here.
        from app.notifications import entry_wording

        return entry_wording.describe_entry(event_type, data, notice, tournament, tournament_name, details, user_id)

    return EventView(event_type, event_type, "", path, tournament_name, details, why)


def _describe_payment(event_type: str, data: dict[str, Any], tournament_name: str, details: dict) -> EventView:
    team = data.get("participant_name", "your team")
    payment = _get(Payment, data.get("payment_id"))
    details["team"] = team
    if payment is not None:
        details["amount"] = format_money(payment.amount_cents, payment.currency)
        details["payment_reference"] = payment.reference
    if event_type == "payment.verified":
        title = f"Payment verified: {team}"
        body = f"The entry payment for {team} in {tournament_name} has been verified. You are all set."
        if details.get("amount"):
            body += f" Amount: {details['amount']}"
            body += f" (transaction ID {payment.reference})." if payment.reference else "."
        return EventView(event_type, title, body, None, tournament_name, details)
    # A refund: its own transaction ID (staff enter it with the refund) and the reason they gave.
    details["reason"] = ""
    details["refund_reference"] = ""
    if payment is not None:
        details["reason"] = (
            db.session.scalar(
                select(PaymentVerification.reason)
                .where(PaymentVerification.payment_id == payment.id, PaymentVerification.status == "refunded")
                .order_by(PaymentVerification.id.desc())
                .limit(1)
            )
            or ""
        )
        details["refund_reference"] = (
            db.session.scalar(
                select(PaymentProof.reference)
                .join(Entry, Entry.id == PaymentProof.entry_id)
                .where(Entry.payment_id == payment.id, PaymentProof.status == ProofStatus.REFUNDED.value)
                .order_by(PaymentProof.id.desc())
                .limit(1)
            )
            or ""
        )
    title = f"Payment refunded: {team}"
    body = f"The organisers of {tournament_name} refunded the entry payment for {team}"
    body += f": {details['amount']}." if details.get("amount") else "."
    if details["refund_reference"]:
        body += f" Refund transaction ID: {details['refund_reference']}."
    else:
        body += " They gave no transaction ID for the refund; ask them for it if the money has not arrived."
    if details["reason"]:
        body += f" Their reason: {details['reason']}"
    return EventView(event_type, title, body, None, tournament_name, details)


def _describe_match(
    event_type: str,
    data: dict[str, Any],
    notice: dict[str, Any],
    tournament: Tournament | None,
    tournament_name: str,
    details: dict,
    user_id: int | None,
    mine: list[Participant],
) -> EventView:
    slug = details.get("tournament_slug")
    match = _get(Match, data.get("match_id"))
    label, teams = _match_label(match, data)
    details.update(match_label=label, teams=teams, state=data.get("state"), reason=notice.get("reason") or "")
    path = None
    if match is not None and match.series is not None and slug:
        path = site_path("public.series", slug=slug, series_key=match.series.key)
    elif data.get("series_key") and slug:
        path = site_path("public.series", slug=slug, series_key=data["series_key"])
    if event_type == "match.started":
        body = f"{label} in {tournament_name} has started."
        return EventView(event_type, f"Live now: {label}", body, path, tournament_name, details)
    if event_type == "match.disputed":
        body = (
            f"The result of {label} in {tournament_name} has been disputed. It does not count "
            "until the organisers settle it."
        )
        if details["reason"]:
            body += f" What is contested: {details['reason']}"
        return EventView(event_type, f"Under review: {label}", body, path, tournament_name, details)
    if event_type == "match.corrected":
        return _describe_correction(data, notice, label, tournament_name, details, path, mine)

    settled = notice.get("previous_state") == "disputed"
    details["settled"] = settled
    title = f"Dispute settled: {label}" if settled else f"Finished: {label}"
    if settled:
        body = f"The dispute over {label} in {tournament_name} was settled: the result stands and counts."
        if details["reason"]:
            body += f" The organisers' note: {details['reason']}"
    else:
        body = f"{label} in {tournament_name} is complete."
    details["lines"] = []
    if match is not None and match.series is not None and match.winner is not None:
        score = ""
        if match.score_a is not None and match.score_b is not None:
            score = f" ({match.score_a}-{match.score_b})"
        body += f" {match.winner.name} won{score}."
        details.update(winner=match.winner.name, score=score.strip(" ()"))
    elif match is not None and match.series is None:
        if not settled:
            body += " The standings now include it."
        # Personal: how the reader's own team did (fan_out words this event per recipient).
        lines = _lobby_lines(tournament, match, user_id)
        if lines:
            team, place, figures = lines[0]
            if not settled:
                title = f"Finished {place} in {label}: {figures}"
            body += "".join(f" {t} finished {p}: {f}." for t, p, f in lines)
            details.update(placement=place, figures=figures, team=team)
            details["lines"] = [{"team": t, "place": p, "figures": f} for t, p, f in lines]
    return EventView(event_type, title, body, path, tournament_name, details)


def _describe_correction(
    data: dict[str, Any],
    notice: dict[str, Any],
    label: str,
    tournament_name: str,
    details: dict,
    path: str | None,
    mine: list[Participant],
) -> EventView:
    changes = notice.get("changes") or {}
    own = [team for team in mine if team.key in changes]
    names = {team.key: team.name for team in own}
    if not own:  # worded for nobody in particular (e.g. a preview): every change, by name
        names = _team_names(data.get("tournament_id"), set(changes))
    lines = [
        {"team": names.get(key, key), "before": _line(change.get("before")), "after": _line(change.get("after"))}
        for key, change in changes.items()
        if key in names
    ]
    details["lines"] = lines
    first = lines[0]["team"] if lines else "your team"
    title = f"Result corrected: {first} in {label}"
    body = f"The organisers corrected the result of {label} in {tournament_name}."
    body += "".join(f" {line['team']}: {line['before']} -> {line['after']}." for line in lines)
    if details["reason"]:
        body += f" Their reason: {details['reason']}"
    body += " The standings already show the corrected result."
    return EventView("match.corrected", title, body, path, tournament_name, details)


def _override_of(tournament: Tournament | None) -> list[TournamentResult]:
    if tournament is None:
        return []
    return list(
        db.session.scalars(
            select(TournamentResult)
            .where(TournamentResult.tournament_id == tournament.id, TournamentResult.is_override.is_(True))
            .order_by(TournamentResult.rank)
        )
    )


def _placements(tournament: Tournament | None, mine: list[Participant]) -> list[dict[str, Any]]:
    """The reader's teams' final places; a place an override set or shifted says so, with the
    frozen place and the organisers' reason."""
    placements = []
    pins = None
    for team in mine:
        result = db.session.scalar(
            select(TournamentResult).where(
                TournamentResult.tournament_id == team.tournament_id, TournamentResult.participant_id == team.id
            )
        )
        if result is None:
            continue
        entry = {"team": team.name, "rank": result.rank, "place": ordinal(result.rank), "note": ""}
        entry["sentence"] = f"{team.name} finished {entry['place']}."
        if result.rank != result.frozen_rank:
            if result.is_override:
                entry["note"] = (
                    f"The standings had {team.name} {ordinal(result.frozen_rank)}; the organisers placed the "
                    f"team {entry['place']}. Their reason: {result.override_reason}"
                )
            else:
                pins = pins if pins is not None else _override_of(tournament)
                why = "; ".join(f"{p.participant.name} placed {ordinal(p.rank)}: {p.override_reason}" for p in pins)
                entry["note"] = (
                    f"The standings had {team.name} {ordinal(result.frozen_rank)}; an override by the organisers "
                    f"moved it to {entry['place']} ({why})."
                )
            entry["sentence"] += " " + entry["note"]
        placements.append(entry)
    return placements


def _describe_override(
    data: dict[str, Any],
    notice: dict[str, Any],
    tournament: Tournament | None,
    tournament_name: str,
    details: dict,
    path: str | None,
    mine: list[Participant],
    why: str,
) -> EventView:
    pinned = data.get("participant_name", "?")
    pinned_key = data.get("participant_id")
    old_rank, new_rank = data.get("old_rank"), data.get("new_rank")
    moved = notice.get("moved") or {}
    if not moved and isinstance(old_rank, int) and isinstance(new_rank, int):
        moved = {pinned_key: [old_rank, new_rank]}
    reason = notice.get("reason") or ""
    cleared = bool(notice.get("cleared"))
    own = [team for team in mine if team.key in moved] or [t for t in mine if t.key == pinned_key]
    names = {team.key: team.name for team in own} or {pinned_key: pinned}
    lines = []
    for key, name in names.items():
        ranks = moved.get(key)
        if isinstance(ranks, list | tuple) and len(ranks) == 2:
            lines.append({"team": name, "before": ordinal(ranks[0]), "after": ordinal(ranks[1])})
    details.update(team=pinned, old_rank=old_rank, new_rank=new_rank, reason=reason, cleared=cleared, lines=lines)
    details["new_place"] = ordinal(new_rank) if isinstance(new_rank, int) else ""
    first = lines[0]["team"] if lines else pinned
    title = f"Final placement changed: {first}"
    if cleared:
        body = f"The organisers removed the override that placed {pinned} in the final results of {tournament_name}."
    elif isinstance(new_rank, int):
        body = f"The organisers placed {pinned} {ordinal(new_rank)} in the final results of {tournament_name}."
    else:
        body = f"The organisers moved {pinned} in the final results of {tournament_name}."
    body += "".join(f" {line['team']}: {line['before']} -> {line['after']}." for line in lines)
    if reason:
        body += f" Their reason: {reason}"
    return EventView("placement.overridden", title, body, path, tournament_name, details, why)


_ENTRY_EVENTS = (
    "payment.submitted",
    "payment.rejected",
    "registration.confirmed",
    "registration.cancelled",
    "registration.offered",
)


def when(value: Any) -> str:
    """The one time format of emails and the inbox (UTC until tournaments have a time zone)."""
    return value.strftime("%d %b %Y, %H:%M UTC") if value is not None else ""
