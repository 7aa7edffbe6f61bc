"""Issue 26, "expected but missing": the tournament's description, rules and organiser contact on
its public page; the public list of its teams; staff announcements to every team (inbox and
email); the captain's phone number, for staff only; fee totals per method on the queue.

Through the public surface (HTTP as a browser without JavaScript sends it), with the services
only to set the scene (registrations, proofs, decisions)."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email import policy

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Announcement, AuditEvent, Entry, Notification, Registration, Tournament, User
from app.notifications import email as notification_email
from app.notifications import preferences
from app.notifications.models import OutboxEvent, WebhookEndpoint
from app.services.accounts.tokens import create_token
from app.services.registration import decisions, entries, settings_save
from tests import factories as f
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, create_user, csrf_token_from

SLUG = "extras-cup"
STAFF_URL = f"/staff/tournaments/{SLUG}"
PAGE = f"/tournaments/{SLUG}/"
PHONE = "+8801712345678"


class Browser:
    def __init__(self, app, email_address: str, password: str):
        self.client = app.test_client()
        page = self.client.get("/login").get_data(as_text=True)
        response = self.client.post(
            "/login", data={"email": email_address, "password": password, "csrf_token": csrf_token_from(page)}
        )
        assert response.status_code == 302
        self.token = csrf_token_from(self.client.get("/account/registrations").get_data(as_text=True))

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url, data=None, **kwargs):
        return self.client.post(url, data={"csrf_token": self.token, **(data or {})}, **kwargs)


def text(response) -> str:
    return response.get_data(as_text=True)


def settings(fee="500.00", **extra):
    return {
        "capacity": 8,
        "roster_min": 1,
        "roster_max": 4,
        "fee": {"amount": fee, "currency": "BDT"},
        "methods": [
            {"name": "bkash", "instructions": "bKash merchant 01700000000"},
            {"name": "nagad", "instructions": "Nagad 01800000000"},
        ],
        "payment_deadline_hours": 48,
        "auto_confirm_free": True,
        **extra,
    }


@pytest.fixture
def world(make_app):
    app = make_app(NOTIFICATIONS_EMAIL_ENABLED=True, NOTIFICATIONS_WEBHOOK_ENABLED=True)
    staff_id = create_user(app, STAFF_EMAIL, STAFF_PASSWORD, staff=True)
    with app.app_context():
        tournament = f.br_tournament(SLUG, status="registration", teams=())
        db.session.add(WebhookEndpoint(url="https://hooks.example/in", secret="s" * 32, event_types=[], enabled=True))
        db.session.commit()
        tournament_id = tournament.id
        settings_save.save_settings(tournament_id, settings(), staff_id)
    return {"app": app, "staff_id": staff_id, "t": tournament_id, "staff": Browser(app, STAFF_EMAIL, STAFF_PASSWORD)}


def player(app, name: str) -> int:
    user_id = create_user(app, f"{name}@example.com", f"{name} password 1")
    with app.app_context():
        db.session.get(User, user_id).email_verified_at = datetime.now(UTC)
        db.session.commit()
    return user_id


def team(w, name: str, tag: str | None = None, *, confirm=True, method="bkash", amount="500", phone=None, mates=()):
    """A registered team, paid and verified when `confirm`; `mates` join its roster."""
    app = w["app"]
    captain = player(app, name.lower().replace(" ", "-"))
    with app.app_context():
        entry = entries.register(w["t"], captain, name, tag, captain_phone=phone)
        for mate in mates:
            db.session.add(Registration(tournament_id=w["t"], participant_id=entry.participant_id, user_id=mate))
        db.session.commit()
        if confirm:
            entries.submit_proof(
                entry.id,
                captain,
                method=method,
                transaction_id=f"TX{entry.id}ABC",
                amount=amount,
                sender_last_digits="12",
            )
            decisions.decide(entry.id, "verify", w["staff_id"])
        return entry.id, captain


# --------------------------------------------------------------------------- description, rules, contact

INFO = {
    "name": "Extras Cup",
    "slug": SLUG,
    "game": "freefire",
    "description": 'Bring your A game.\n<script>alert("x")</script>\nLobby at 8 pm.',
    "rules": "1. No emulators.\r\n2. Screenshots of every lobby.\n<b>Be nice</b>",
    "contact_whatsapp": "+880 1712-345678",
    "contact_discord": "https://discord.gg/deltacrown",
    "contact_facebook": "https://www.facebook.com/groups/deltacrown",
}


def test_description_rules_and_contacts_are_edited_by_staff_and_shown_safely(world):
    staff = world["staff"]
    response = staff.post(f"{STAFF_URL}/edit", INFO)
    assert response.status_code == 302, text(response)
    page = text(world["app"].test_client().get(PAGE))
    # Plain text: escaped, never markup; the line breaks are kept for the page's pre-wrap style.
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "Bring your A game.\n" in page
    assert "1. No emulators.\n2. Screenshots of every lobby.\n&lt;b&gt;Be nice&lt;/b&gt;" in page
    links = re.findall(r'<a class="contact-link[^"]*" href="([^"]+)" rel="([^"]+)"', page)
    assert links == [
        ("https://wa.me/8801712345678", "nofollow noopener"),
        ("https://discord.gg/deltacrown", "nofollow noopener"),
        ("https://www.facebook.com/groups/deltacrown", "nofollow noopener"),
    ]
    with world["app"].app_context():
        t = db.session.get(Tournament, world["t"])
        assert t.contact_whatsapp == "+8801712345678" and t.rules.count("\r") == 0
        audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "tournament.updated")).all()
        assert audit[-1].after["contact_discord"] == "https://discord.gg/deltacrown"
    # The edit form shows what is stored.
    form = text(staff.get(f"{STAFF_URL}/edit"))
    assert "https://discord.gg/deltacrown" in form and "No emulators." in form


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("contact_discord", "javascript:alert(1)", "contact_discord"),
        ("contact_discord", "http://discord.gg/abc", "discord.gg"),
        ("contact_discord", "https://evil.example/discord.gg", "discord.gg"),
        ("contact_facebook", "https://user:pw@facebook.com/x", "facebook.com"),
        ("contact_facebook", "https://facebook.com:8443/x", "facebook.com"),
        ("contact_whatsapp", "12-34", "phone number"),
        ("contact_whatsapp", "https://wa.me.evil.example/1", "wa.me"),
        ("description", "x" * 5001, "5000 characters"),
        ("rules", "line\x07bell", "control character"),
    ],
)
def test_bad_info_is_refused_with_a_message_and_nothing_changes(world, field, value, message):
    staff = world["staff"]
    response = staff.post(f"{STAFF_URL}/edit", {**INFO, field: value})
    assert response.status_code == 400
    assert message in text(response)
    with world["app"].app_context():
        t = db.session.get(Tournament, world["t"])
        assert (t.description, t.contact_discord, t.contact_facebook, t.contact_whatsapp) == (None, None, None, None)


def test_a_new_tournament_takes_the_info_and_empty_fields_show_nothing(world):
    staff = world["staff"]
    response = staff.post("/staff/tournaments/new", {"name": "Quiet Cup", "slug": "quiet-cup", "game": "freefire"})
    assert response.status_code == 302
    response = staff.post(
        "/staff/tournaments/new",
        {
            "name": "Loud Cup",
            "slug": "loud-cup",
            "game": "valorant",
            "contact_whatsapp": "https://chat.whatsapp.com/AbC",
        },
    )
    assert response.status_code == 302, text(response)
    with world["app"].app_context():
        for slug in ("quiet-cup", "loud-cup"):
            db.session.scalar(select(Tournament).where(Tournament.slug == slug)).status = "registration"
        db.session.commit()
    client = world["app"].test_client()
    assert "about-block" not in text(client.get("/tournaments/quiet-cup/"))
    loud = text(client.get("/tournaments/loud-cup/"))
    assert 'href="https://chat.whatsapp.com/AbC" rel="nofollow noopener"' in loud


# --------------------------------------------------------------------------- the list of teams


def test_public_team_list_shows_confirmed_teams_names_and_tags_only(world):
    app = world["app"]
    team(world, "Alpha Wolves", "AW", phone=PHONE)
    pending_id, _ = team(world, "Beta Unpaid", "BU", confirm=False)
    client = app.test_client()
    page = text(client.get(PAGE))
    block = page[
        page.index('class="team-list-block"') : page.index("</section>", page.index('class="team-list-block"'))
    ]
    assert "Alpha Wolves" in block and "[AW]" in block and "(1 confirmed)" in block
    assert "Beta Unpaid" not in block
    assert "@example.com" not in page and PHONE not in page and "8801712345678" not in page
    # Confirming a team changes no results, yet the cached page shows it at once.
    with app.app_context():
        captain = db.session.get(Entry, pending_id).captain_id
        entries.submit_proof(pending_id, captain, method="nagad", transaction_id="TXBETA1", amount="500")
        decisions.decide(pending_id, "verify", world["staff_id"])
    page = text(client.get(PAGE))
    assert "Beta Unpaid" in page and "(2 confirmed)" in page
    # After the start the list is still there, folded under the results.
    with app.app_context():
        db.session.get(Tournament, world["t"]).status = "live"
        db.session.commit()
    live = text(client.get(PAGE))
    assert '<details class="team-list-block__details">' in live and "Alpha Wolves" in live


# --------------------------------------------------------------------------- announcements


def _form_token(html: str) -> str:
    return re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)


def test_announcement_reaches_every_player_of_the_event_by_inbox_and_email(world):
    app = world["app"]
    mate = player(app, "mate")
    muted = player(app, "muted")
    alpha_id, alpha_captain = team(world, "Alpha Wolves", "AW", mates=(mate, muted))
    _, beta_captain = team(world, "Beta Unpaid", confirm=False)
    with app.app_context():
        preferences.set_email_opt_out(muted, preferences.TOURNAMENTS, True)
        db.session.commit()
    staff = world["staff"]
    page = text(staff.get(f"{STAFF_URL}/announcements"))
    assert "3 players in 1 team" in page
    message = "Room opens at 20:00.\nPassword: <b>crown</b>\n\nBe on time."
    data = {"subject": "Lobby 1 room", "message": message, "token": _form_token(page)}
    response = staff.post(f"{STAFF_URL}/announcements", data)
    assert response.status_code == 302, text(response)
    # Sending the same form again sends nothing new.
    again = staff.post(f"{STAFF_URL}/announcements", data, follow_redirects=True)
    assert "was already sent" in text(again)
    with app.app_context():
        assert db.session.scalar(select(func.count(Announcement.id))) == 1
        told = set(
            db.session.scalars(select(Notification.user_id).where(Notification.event == "tournament.announcement"))
        )
        assert told == {alpha_captain, mate, muted}  # not the unpaid team's captain
        assert beta_captain not in told
        notice = db.session.scalars(select(Notification).where(Notification.user_id == mate)).all()[-1]
        assert notice.title.endswith(": Lobby 1 room")
        assert notice.body == message
        event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.type == "tournament.announcement"))
        channels = {(d.channel, d.user_id) for d in event.deliveries}
        assert channels == {("email", alpha_captain), ("email", mate)}  # opted out: inbox only; never a webhook
        assert "message" not in event.data and "Password" not in str(event.data)
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tournament.announced"))
        assert audit.actor_id == world["staff_id"] and audit.after["recipients"] == 3
        mail = notification_email.build_message(event, db.session.get(User, mate))
        parsed = email.message_from_bytes(mail.as_bytes(), policy=policy.default)
        assert parsed["Subject"].endswith(": Lobby 1 room")
        body_text = parsed.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
        body_html = parsed.get_body(preferencelist=("html",)).get_content()
        assert "Password: <b>crown</b>\n\nBe on time." in body_text
        assert "Password: &lt;b&gt;crown&lt;/b&gt;<br>" in body_html and "<b>crown" not in body_html
        assert parsed["List-Unsubscribe"]
    inbox = text(Browser(app, "mate@example.com", "mate password 1").get("/inbox"))
    assert "Password: &lt;b&gt;crown&lt;/b&gt;" in inbox
    history = text(staff.get(f"{STAFF_URL}/announcements"))
    assert "Lobby 1 room" in history and "3 players" in history


@pytest.mark.parametrize(
    ("subject", "message", "status", "expected"),
    [
        ("", "Hello", 400, "This field is required"),
        ("x" * 151, "Hello", 400, "150"),
        ("Hi", "y" * 5001, 400, "5000"),
        ("Two\nlines", "Hello", 400, "line breaks"),
    ],
)
def test_bad_announcements_are_refused_and_nothing_is_sent(world, subject, message, status, expected):
    team(world, "Alpha Wolves")
    staff = world["staff"]
    token = _form_token(text(staff.get(f"{STAFF_URL}/announcements")))
    response = staff.post(f"{STAFF_URL}/announcements", {"subject": subject, "message": message, "token": token})
    assert response.status_code == status
    assert expected in text(response)
    with world["app"].app_context():
        assert db.session.scalar(select(func.count(Announcement.id))) == 0
        assert (
            db.session.scalar(select(func.count(OutboxEvent.id)).where(OutboxEvent.type == "tournament.announcement"))
            == 0
        )


def test_an_announcement_with_nobody_to_tell_is_refused(world):
    staff = world["staff"]
    token = _form_token(text(staff.get(f"{STAFF_URL}/announcements")))
    response = staff.post(f"{STAFF_URL}/announcements", {"subject": "Hi", "message": "Hello", "token": token})
    assert response.status_code == 409 and "nobody to tell" in text(response)


def test_players_cannot_send_announcements(world):
    app = world["app"]
    player(app, "nosy")
    nosy = Browser(app, "nosy@example.com", "nosy password 1")
    response = nosy.post(f"{STAFF_URL}/announcements", {"subject": "Hi", "message": "Hello", "token": "a" * 32})
    assert response.status_code == 403


# --------------------------------------------------------------------------- the captain's phone


def test_captain_phone_is_asked_stored_and_shown_to_staff_only(world):
    app = world["app"]
    player(app, "cap")
    cap = Browser(app, "cap@example.com", "cap password 1")
    form = text(cap.get(f"/tournaments/{SLUG}/register"))
    assert 'type="tel"' in form and "Your phone or WhatsApp number (optional)" in form
    bad = cap.post(f"/tournaments/{SLUG}/register", {"team_name": "Phone Team", "captain_phone": "call me"})
    assert bad.status_code == 400 and "a phone number such as" in text(bad)
    response = cap.post(
        f"/tournaments/{SLUG}/register", {"team_name": "Phone Team", "captain_phone": "+880 1712-345678"}
    )
    assert response.status_code == 302
    with app.app_context():
        entry = db.session.scalar(select(Entry).where(Entry.team_name == "Phone Team"))
        assert entry.captain_phone == PHONE
        entries.submit_proof(entry.id, entry.captain_id, method="bkash", transaction_id="TXPHONE1", amount="500")
        decisions.decide(entry.id, "verify", world["staff_id"])
        captain_id = entry.captain_id
    queue = text(world["staff"].get(f"{STAFF_URL}/registrations/"))
    assert 'href="tel:+8801712345678"' in queue and "https://wa.me/8801712345678" in queue
    # Never public, never in the export, an API row or an event's data, never in the audit log.
    assert "8801712345678" not in text(app.test_client().get(PAGE))
    assert "8801712345678" not in text(world["staff"].get(f"{STAFF_URL}/registrations.csv"))
    with app.app_context():
        assert all("8801712345678" not in str(e.data) for e in db.session.scalars(select(OutboxEvent)))
        assert all("8801712345678" not in str(a.after) for a in db.session.scalars(select(AuditEvent)))
        secret = create_token(captain_id)
    api = app.test_client().get(
        f"/api/tournaments/{SLUG}/registrations/", headers={"Authorization": f"Bearer {secret}"}
    )
    assert api.status_code == 200 and "8801712345678" not in text(api)


def test_organisers_may_require_the_phone(world):
    app = world["app"]
    with app.app_context():
        settings_save.save_settings(world["t"], settings(captain_phone_required=True), world["staff_id"])
    player(app, "cap")
    cap = Browser(app, "cap@example.com", "cap password 1")
    form = text(cap.get(f"/tournaments/{SLUG}/register"))
    assert "WhatsApp number (optional)" not in form and re.search(r'<input[^>]*name="captain_phone"[^>]*required', form)
    response = cap.post(f"/tournaments/{SLUG}/register", {"team_name": "No Phone"})
    assert response.status_code == 400 and "required by the organisers" in text(response)
    with app.app_context():
        assert db.session.scalar(select(func.count(Entry.id))) == 0


def test_the_settings_form_turns_the_phone_requirement_on(world):
    staff = world["staff"]
    data = {
        "capacity": "8",
        "roster_min": "1",
        "roster_max": "4",
        "fee": "0",
        "currency": "BDT",
        "payment_deadline_hours": "48",
        "captain_phone_required": "y",
    }
    assert staff.post(f"{STAFF_URL}/registration", data).status_code == 302
    box = re.search(r'<input[^>]*id="captain_phone_required"[^>]*>', text(staff.get(f"{STAFF_URL}/registration")))
    assert "checked" in box.group(0)


def test_the_api_takes_the_phone_and_the_setting(world):
    app = world["app"]
    with app.app_context():
        staff_secret = create_token(world["staff_id"])
    client = app.test_client()
    headers = {"Authorization": f"Bearer {staff_secret}"}
    saved = client.put(
        f"/api/tournaments/{SLUG}/registration/", json=settings(captain_phone_required=True), headers=headers
    )
    assert saved.status_code == 200 and saved.get_json()["captain_phone_required"] is True
    captain = player(app, "apicap")
    with app.app_context():
        secret = create_token(captain)
    mine = {"Authorization": f"Bearer {secret}"}
    url = f"/api/tournaments/{SLUG}/registrations/"
    refused = client.post(url, json={"team_name": "API Team"}, headers=mine)
    assert refused.status_code == 400 and "captain_phone" in str(refused.get_json())
    done = client.post(url, json={"team_name": "API Team", "captain_phone": "01712 345678"}, headers=mine)
    assert done.status_code == 201 and "phone" not in str(done.get_json())
    with app.app_context():
        assert db.session.scalar(select(Entry.captain_phone)) == "01712345678"


# --------------------------------------------------------------------------- fee totals


def test_queue_shows_fees_collected_per_method_verified_minus_refunded(world):
    app = world["app"]
    team(world, "Alpha", method="bkash")
    team(world, "Bravo", method="bkash")
    charlie_id, charlie_captain = team(world, "Charlie", method="nagad")
    with app.app_context():
        entries.withdraw(charlie_id, charlie_captain)
        decisions.decide(charlie_id, "refund", world["staff_id"], reason="Withdrew in time", reference="RF1")
    team(world, "Delta", confirm=False)  # no proof: nothing counted
    queue = text(world["staff"].get(f"{STAFF_URL}/registrations/"))
    table = queue[queue.index("fee-totals-heading") : queue.index("</table>", queue.index("fee-totals-heading"))]
    rows = [re.sub(r"<[^>]+>|\s+", " ", r).split() for r in re.findall(r"<tr>(.*?)</tr>", table, re.S)]
    assert ["bKash", "2", "BDT", "1000.00", "—", "BDT", "1000.00"] in rows
    assert ["Nagad", "1", "BDT", "500.00", "BDT", "500.00", "BDT", "0.00"] in rows
    assert ["All", "methods", "3", "BDT", "1500.00", "BDT", "500.00", "BDT", "1000.00"] in rows
