"""Every page, for every viewer, on a phone and a desktop, light and dark: real Chromium over every
route of `app.url_map` that answers GET with HTML.

The routes are read from the app at run time, so a route added later is checked without editing
this file. URL arguments come from ARGUMENT_PROVIDERS, keyed by the argument's name and fed from
the demo data (plus a completed tournament with an override, a webhook endpoint, a token...). A
route with an argument no provider fills fails the test, naming the route and the argument: add
a provider then.

Each argument set is first asked for (without following redirects) as each of anonymous, a player,
staff and an admin; a role that gets a 200 HTML answer then loads it in Chromium (a page already
checked for a signed-in role is not checked again for the next one: only the header's links
differ, and those are checked on every page) and the page is checked at 1280 and 390 px wide, in
the light and the dark colour scheme:
- nothing scrolls sideways (`document.documentElement.scrollWidth <= innerWidth`);
- no console error, no uncaught script error, no failed request, no subresource answering 4xx/5xx;
- no serious or critical axe-core violation of the WCAG 2.0/2.1 A and AA rules (axe runs twice per
  page: 390 px light and 1280 px dark, so each width and each scheme is audited once).
A route that no role can load as an HTML page, though it is not a JSON/CSV/file route, fails.

`make screenshots` runs this check with SCREENSHOTS_DIR set: every checked page is also saved at
both widths (light scheme) as `<role>--<endpoint>--<arguments>--<width>.png`.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from app.extensions import db
from app.models import Entry, Match, Participant, PointAdjustment, Registration, Series, Tournament, User
from app.notifications import endpoints, preferences
from app.services.accounts.tokens import create_token
from app.services.registration import entries
from app.services.registration import settings as registration_settings
from app.services.standings.leaderboard import LeaderboardService
from app.services.standings.series_summaries import summarise_series
from app.services.support.demo import DEMO_PLAYERS, ensure_demo_players, ensure_demo_registrations, load_demo
from tests.conftest import create_user

WIDTHS = (1280, 390)
THEMES = ("light", "dark")
AXE_RUNS = {(390, "light"), (1280, "dark")}
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
SERIOUS = ("serious", "critical")
ROLES = ("anonymous", "player", "staff", "admin")
PASSWORD = "browser check password"
STAFF = "check-staff@example.com"
ADMIN = "check-admin@example.com"
PLAYER = DEMO_PLAYERS[0][0]

# Endpoints that are files, not pages (no argument set is needed beyond a valid one).
SKIPPED_ENDPOINTS = {
    "static",
    # An image, not a page (tests/services/registration/test_proof_images.py checks who may see it).
    "players.proof_screenshot",
    # A good link redirects (to log in or to the teams page); the only page of its own is the
    # 400 for a wrong or expired link (tests/web/auth/test_signup_hardening.py).
    "players.verify_email",
}

# Query strings that show a different page on the same route.
EXTRA_QUERIES: dict[str, list[str]] = {"embed.widget": ["?overlay=1", "?theme=dark"]}


@dataclass
class Data:
    """What the providers choose from, read once after seeding."""

    slugs: list[str] = field(default_factory=list)
    matches: dict[str, list[int]] = field(default_factory=dict)  # slug -> match ids, one per state
    series: dict[str, list[str]] = field(default_factory=dict)  # slug -> series keys, one per status
    endpoint_ids: list[int] = field(default_factory=list)
    unsubscribe_tokens: list[str] = field(default_factory=list)
    teams: dict[str, list[str]] = field(default_factory=dict)  # slug -> one participant key
    adjustments: dict[str, list[int]] = field(default_factory=dict)  # slug -> one adjustment id
    entries: dict[str, list[int]] = field(default_factory=dict)  # slug -> a refundable entry
    my_entries: list[int] = field(default_factory=list)  # the checked player's own registration
    my_registrations: list[int] = field(default_factory=list)  # the player's place on a team


def _slug_of(args: dict[str, Any]) -> str | None:
    return args.get("slug") or args.get("ref")


# The one table to extend: argument name -> values for it, given the arguments chosen before it
# (in the route's order). An empty list drops that combination.
ARGUMENT_PROVIDERS: dict[str, Callable[[Data, dict[str, Any]], list[Any]]] = {
    "slug": lambda data, args: data.slugs,
    "ref": lambda data, args: data.slugs,
    "match_id": lambda data, args: data.matches.get(_slug_of(args) or "", []),
    "series_key": lambda data, args: data.series.get(_slug_of(args) or "", []),
    "endpoint_id": lambda data, args: data.endpoint_ids,
    "token": lambda data, args: data.unsubscribe_tokens,
    "key": lambda data, args: data.teams.get(_slug_of(args) or "", []),
    "adjustment_id": lambda data, args: data.adjustments.get(_slug_of(args) or "", []),
    "entry_id": lambda data, args: data.entries.get(_slug_of(args) or "", []) if _slug_of(args) else data.my_entries,
    "registration_id": lambda data, args: data.my_registrations,
}


def seed(app) -> Data:
    """The demo (as `make run` loads it), its players, staff and admin, a pinned final result,
    a webhook endpoint with a delivery, an API token: so every page has something to show."""
    staff_id = create_user(app, STAFF, PASSWORD, staff=True)
    create_user(app, ADMIN, PASSWORD, staff=True, admin=True)
    with app.app_context():
        load_demo()
        ensure_demo_players(PASSWORD)
        db.session.commit()
        ensure_demo_registrations(staff_id, PASSWORD)
        completed = db.session.scalar(select(Tournament).where(Tournament.status == "completed"))
        results = LeaderboardService.results(completed.id)
        LeaderboardService.override_placement(
            completed.id, results[-1]["participant_id"], 1, "Seeded override for the browser check", staff_id
        )
        endpoint, _secret = endpoints.create_endpoint(
            "https://hooks.example.com/deltacrown", "Scores to the stream desk", ["match.completed"], staff_id
        )
        db.session.commit()
        endpoints.send_test_event(endpoint.id, staff_id)
        db.session.commit()
        create_token(staff_id)

        data = Data()
        tournaments = list(db.session.scalars(select(Tournament).order_by(Tournament.id)))
        # One tournament per (kind, status), plus any that has a match state not seen yet (a
        # disputed lobby...), so every variant of every page is shown once.
        kinds: set[tuple[bool, str]] = set()
        states: set[str] = set()
        for tournament in tournaments:
            mine = set(db.session.scalars(select(Match.state).where(Match.tournament_id == tournament.id)))
            kind = (tournament.is_battle_royale, tournament.status)
            if kind not in kinds or not mine <= states:
                data.slugs.append(tournament.slug)
                kinds.add(kind)
                states |= mine
        for tournament in tournaments:
            if tournament.slug not in data.slugs:
                continue
            per_state: dict[str, int] = {}
            for match in db.session.scalars(
                select(Match).where(Match.tournament_id == tournament.id).order_by(Match.id)
            ):
                per_state.setdefault(match.state, match.id)
            data.matches[tournament.slug] = list(per_state.values())
            per_status: dict[str, str] = {}
            for series in db.session.scalars(
                select(Series).where(Series.tournament_id == tournament.id).order_by(Series.position)
            ):
                per_status.setdefault(summarise_series(series, series.games)["status"], series.key)
            data.series[tournament.slug] = list(per_status.values())
        data.endpoint_ids = [endpoint.id]
        for slug in data.slugs:
            tournament = db.session.scalar(select(Tournament).where(Tournament.slug == slug))
            key = db.session.scalar(
                select(Participant.key).where(Participant.tournament_id == tournament.id).order_by(Participant.id)
            )
            data.teams[slug] = [key] if key else []
            adjustment = db.session.scalar(
                select(PointAdjustment.id).where(PointAdjustment.tournament_id == tournament.id).limit(1)
            )
            data.adjustments[slug] = [adjustment] if adjustment else []
            refundable = db.session.scalar(
                select(Entry.id).where(Entry.tournament_id == tournament.id, Entry.payment_status == "verified")
            )
            data.entries[slug] = [refundable] if refundable else []
        player = db.session.scalar(select(User.id).where(User.email == PLAYER))
        registration_slug = next(
            s for s in data.slugs if registration_settings.settings_for(_tournament_id(s)) is not None
        )
        own = entries.register(_tournament_id(registration_slug), player, "Browser Check Team", "BCT")
        data.my_entries = [own.id]
        data.my_registrations = [
            db.session.scalar(select(Registration.id).where(Registration.user_id == player).order_by(Registration.id))
        ]
        data.unsubscribe_tokens = [preferences.unsubscribe_token(player, next(iter(preferences.CATEGORIES)))]
    return data


def _tournament_id(slug: str) -> int:
    return db.session.scalar(select(Tournament.id).where(Tournament.slug == slug))


def candidate_urls(app, data: Data) -> tuple[dict[str, list[str]], list[str]]:
    """Every GET route's URLs (endpoint -> paths), and the routes whose arguments nobody fills."""
    unfilled: list[str] = []
    urls: dict[str, list[str]] = {}
    with app.test_request_context():
        from flask import url_for

        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or rule.endpoint in SKIPPED_ENDPOINTS:
                continue
            names = [name for name in re.findall(r"<(?:[^<>:]+:)?([^<>]+)>", rule.rule)]
            missing = [name for name in names if name not in ARGUMENT_PROVIDERS]
            if missing:
                unfilled.append(f"{rule.rule}: no provider for argument {', '.join(missing)}")
                continue
            combos: list[dict[str, Any]] = [{}]
            for name in names:
                combos = [{**args, name: value} for args in combos for value in ARGUMENT_PROVIDERS[name](data, args)]
            paths = [url_for(rule.endpoint, **args) for args in combos]
            paths += [path + query for path in paths for query in EXTRA_QUERIES.get(rule.endpoint, [])]
            urls[rule.endpoint] = paths
    return urls, unfilled


def log_in(context, base: str, email: str) -> None:
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    assert "/login" not in page.url, f"could not log in as {email}"
    page.close()


# Two animation frames: the resize handlers (app.js) have run and the layout is final.
_SETTLED_JS = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"

# The outermost elements sticking out past the right edge (their parent does not), named for the report.
_OVERFLOW_JS = """() => {
  const width = window.innerWidth, doc = document.documentElement, wide = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/ +/).join('.') : '');
  if (doc.scrollWidth > width) {
    for (const el of document.body.querySelectorAll('*')) {
      const right = el.getBoundingClientRect().right, parent = el.parentElement;
      if (right > width + 1 && parent && parent.getBoundingClientRect().right <= width + 1) {
        wide.push(name(el) + ' in ' + name(parent) + ' (' + Math.round(right) + 'px)');
        if (wide.length >= 4) break;
      }
    }
  }
  return {scrollWidth: doc.scrollWidth, innerWidth: width, wide};
}"""


def _label(role: str, endpoint: str, path: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "root"
    return f"{role}--{endpoint}--{cleaned}"[:150]


def check_page(page, url: str, label: str, problems: list[str], events: list[str], axe: Axe, shots: str | None):
    events.clear()
    response = page.goto(url, wait_until="load")
    if response is None or response.status != 200:
        problems.append(f"{label}: answered {response.status if response else 'nothing'} in the browser")
        return
    page.wait_for_timeout(50)  # app.js runs on DOMContentLoaded; let htmx settle its first swap
    for width in WIDTHS:
        for theme in THEMES:
            page.set_viewport_size({"width": width, "height": 900})
            page.emulate_media(color_scheme=theme)
            page.evaluate(_SETTLED_JS)
            measured = page.evaluate(_OVERFLOW_JS)
            if measured["scrollWidth"] > measured["innerWidth"]:
                problems.append(
                    f"{label} at {width}px {theme}: scrolls sideways ({measured['scrollWidth']}px wide): "
                    + ", ".join(measured["wide"])
                )
            if (width, theme) in AXE_RUNS:
                result = axe.run(page, options=AXE_OPTIONS)
                for violation in result.response["violations"]:
                    if violation["impact"] in SERIOUS:
                        targets = "; ".join(",".join(node["target"]) for node in violation["nodes"][:3])
                        problems.append(
                            f"{label} at {width}px {theme}: axe {violation['impact']} {violation['id']}: "
                            f"{violation['help']} ({len(violation['nodes'])}x: {targets})"
                        )
            if shots and theme == "light":
                page.screenshot(path=os.path.join(shots, f"{label}--{width}.png"), full_page=True)
    problems.extend(f"{label}: {event}" for event in events)


def watch(page, base: str, events: list[str]) -> None:
    def console(message):
        if message.type == "error":
            events.append(f"console error: {message.text[:300]}")

    def failed(request):
        failure = request.failure or ""
        if "ERR_ABORTED" not in failure:  # a poll cut short by the next navigation is not a fault
            events.append(f"request failed: {request.method} {request.url} ({failure})")

    def answered(response):
        if response.status >= 400 and response.request.resource_type != "document":
            events.append(f"{response.request.resource_type} answered {response.status}: {response.url}")

    page.on("console", console)
    page.on("pageerror", lambda error: events.append(f"script error: {error}"))
    page.on("requestfailed", failed)
    page.on("response", answered)


def test_every_page_fits_a_phone_is_accessible_and_error_free(app, live_server, browser):
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request would bury the report
    started = time.monotonic()
    data = seed(app)
    urls, unfilled = candidate_urls(app, data)
    assert not unfilled, "routes whose URL arguments no provider fills (add to ARGUMENT_PROVIDERS):\n" + "\n".join(
        unfilled
    )
    shots = os.environ.get("SCREENSHOTS_DIR") or None
    only = os.environ.get("BROWSER_CHECK_ONLY")  # a regex on "role endpoint path", while fixing a page
    if shots:
        os.makedirs(shots, exist_ok=True)
    axe = Axe()
    problems: list[str] = []
    answered: dict[str, list[str]] = {endpoint: [] for endpoint in urls}
    pages_checked = 0
    seen_signed_in: set[str] = set()
    for role in ROLES:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        try:
            if role != "anonymous":
                log_in(context, live_server.url, {"player": PLAYER, "staff": STAFF, "admin": ADMIN}[role])
            page = context.new_page()
            events: list[str] = []
            watch(page, live_server.url, events)
            for endpoint, paths in urls.items():
                for path in paths:
                    reply = context.request.get(live_server.url + path, max_redirects=0)
                    kind = reply.headers.get("content-type", "")
                    answered[endpoint].append(f"{role} {reply.status} {kind.split(';')[0]}")
                    if reply.status != 200 or not kind.startswith("text/html"):
                        continue
                    if "<html" not in reply.text()[:400].lower():
                        continue  # an htmx fragment (e.g. the unread count), checked inside its page
                    if only and not re.search(only, f"{role} {endpoint} {path}"):
                        continue
                    if role != "anonymous" and path in seen_signed_in:
                        continue  # the same page for another signed-in role: only the header differs
                    if role != "anonymous":
                        seen_signed_in.add(path)
                    check_page(page, live_server.url + path, _label(role, endpoint, path), problems, events, axe, shots)
                    pages_checked += 1
        finally:
            context.close()

    for endpoint, replies in answered.items():
        if not only and not any(r.split()[1] == "200" for r in replies):
            problems.append(f"{endpoint}: no role got a 200 answer ({'; '.join(sorted(set(replies)))})")
    elapsed = time.monotonic() - started
    print(f"\nbrowser check: {pages_checked} pages x {len(WIDTHS)} widths x {len(THEMES)} themes in {elapsed:.0f} s")
    if not only:
        assert pages_checked > 50
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


@pytest.fixture
def app(make_app):
    """Webhooks on (the portal's webhook pages show their full state), as under `make run`."""
    return make_app(NOTIFICATIONS_WEBHOOK_ENABLED=True, WEBHOOK_ALLOW_PRIVATE_NETWORKS=True)
