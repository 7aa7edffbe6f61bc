"""Notification emails: the six templates (text + HTML, escaped), their headers (deterministic
Message-ID, RFC 8058 one-click unsubscribe), who gets nothing (flag off, opted out, inactive), the
unsubscribe page and the preferences page."""

from __future__ import annotations

import email
import re
from email import policy
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

import tests.factories as f
from app.extensions import db, mail
from app.models import Payment, Registration, User
from app.notifications import email as notification_email
from app.notifications import outbox, preferences
from app.notifications.models import Delivery
from app.notifications.outcome import OutcomeKind
from tests.conftest import create_user, csrf_token_from

BASE = "https://play.example.org"
EMAIL_TYPES = [
    "payment.verified",
    "payment.refunded",
    "match.started",
    "match.completed",
    "match.disputed",
    "tournament.completed",
]


@pytest.fixture
def app(make_app):
    return make_app(NOTIFICATIONS_EMAIL_ENABLED=True, PUBLIC_BASE_URL=BASE)


@pytest.fixture
def world(app):
    """A series tournament whose names need escaping, a player on each side, a payment."""
    with app.app_context():
        t = f.series_tournament("dhaka-cup", teams=("A", "B"))
        t.name = "Dhaka <Cup> & Friends"
        f.participant(t, "A").name = "Echo <Squad>"
        game = f.game(f.series(t, "gf", "A", "B", 3), None, state="scheduled")
        db.session.commit()
        ids = {"tournament": t.id, "game": game.id}
    for key, mail_address, name in [("A", "nadia@example.com", "Nadia <3"), ("B", "bo@example.com", "Bo")]:
        user_id = create_user(app, mail_address, "player password 1")
        with app.app_context():
            db.session.get(User, user_id).display_name = name
            participant = f.participant(db.session.get(f.Tournament, ids["tournament"]), key)
            registration = Registration(tournament_id=ids["tournament"], participant_id=participant.id, user_id=user_id)
            db.session.add(registration)
            db.session.flush()
            if key == "A":
                payment = Payment(registration_id=registration.id, amount_cents=150000, currency="BDT", reference="TX9")
                db.session.add(payment)
                db.session.flush()
                ids["payment"] = payment.id
            db.session.commit()
        ids[key] = user_id
    return ids


def _emit(app, world, event_type):
    """Write one event of `event_type` (with email deliveries) as the services would; returns
    {user_id: delivery_id}."""
    with app.app_context():
        tournament = db.session.get(f.Tournament, world["tournament"])
        if event_type.startswith("payment."):
            payment = db.session.get(Payment, world["payment"])
            payment.status = event_type.split(".")[1]
            data, subject = outbox.payment_data(payment), payment
        elif event_type.startswith("match."):
            match = db.session.get(f.Match, world["game"])
            match.state = {"started": "live", "completed": "completed", "disputed": "disputed"}[event_type[6:]]
            if match.state == "completed":
                match.winner_id = f.participant(tournament, "A").id
                match.score_a, match.score_b = 13, 7
            data, subject = outbox.match_data(tournament, match), match
        else:
            tournament.status = "completed"
            data, subject = outbox.tournament_data(tournament), tournament
        event = outbox.emit(event_type, tournament_id=tournament.id, data=data, subject=subject)
        db.session.commit()
        return {d.user_id: d.id for d in event.deliveries if d.channel == "email"}


def _build(app, delivery_id):
    with app.app_context():
        delivery = db.session.get(Delivery, delivery_id)
        msg = notification_email.build_message(delivery.event, db.session.get(User, delivery.user_id))
        return email.message_from_bytes(msg.as_bytes(), policy=policy.default), delivery.event.event_id


@pytest.mark.parametrize("event_type", EMAIL_TYPES)
def test_each_template_renders_text_and_html_escaped(app, world, event_type):
    deliveries = _emit(app, world, event_type)
    expected = {world["A"]} if event_type.startswith("payment.") else {world["A"], world["B"]}
    assert set(deliveries) == expected
    parsed, event_id = _build(app, deliveries[world["A"]])

    assert parsed.get_content_type() == "multipart/alternative"
    text_part, html_part = parsed.get_payload()
    assert text_part.get_content_type() == "text/plain" and html_part.get_content_type() == "text/html"
    text, html = text_part.get_content(), html_part.get_content()

    # Plain text shows names as they are; HTML escapes them.
    assert "Hi Nadia <3," in text and "Dhaka <Cup> & Friends" in text
    assert "Nadia &lt;3" in html and "Dhaka &lt;Cup&gt; &amp; Friends" in html
    assert "<Cup>" not in html and "Nadia <3" not in html
    if event_type != "tournament.completed":
        assert "Echo <Squad>" in text and "Echo &lt;Squad&gt;" in html
    # One shared layout: the footer with both unsubscribe links, absolute links only.
    for body in (text, html):
        assert f"{BASE}/unsubscribe/" in body and f"{BASE}/account/notifications" in body
    assert all(u.startswith(BASE + "/") for u in re.findall(r'href="([^"]+)"', html))
    expected_link = f"{BASE}/tournaments/dhaka-cup/" + ("series/gf/" if event_type.startswith("match.") else "")
    assert expected_link in text and f'href="{expected_link}"' in html

    category = preferences.category_of(event_type)
    assert parsed["Subject"] and "\n" not in parsed["Subject"]
    assert parsed["To"] == "nadia@example.com"
    assert parsed["Message-ID"] == f"<{event_id}.{world['A']}@play.example.org>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.fullmatch(r"<(https://play\.example\.org/unsubscribe/[^>]+)>", parsed["List-Unsubscribe"])
    assert unsubscribe
    with app.app_context():
        user, cat = preferences.read_unsubscribe_token(urlsplit(unsubscribe.group(1)).path.rsplit("/", 1)[1])
        assert (user.id, cat) == (world["A"], category)


def test_specific_content(app, world):
    verified = _emit(app, world, "payment.verified")
    completed = _emit(app, world, "match.completed")
    text = _build(app, verified[world["A"]])[0].get_payload()[0].get_content()
    assert "has been verified" in text and "BDT 1500.00" in text and "TX9" in text
    text = _build(app, completed[world["B"]])[0].get_payload()[0].get_content()
    assert "GF, game 1: Echo <Squad> vs Team B" in text and "Winner: Echo <Squad> (13-7)" in text
    assert "Hi Bo," in text


def test_message_id_is_the_same_on_every_build_and_differs_per_recipient(app, world):
    deliveries = _emit(app, world, "match.started")
    first_a, _ = _build(app, deliveries[world["A"]])
    again_a, _ = _build(app, deliveries[world["A"]])
    first_b, _ = _build(app, deliveries[world["B"]])
    assert first_a["Message-ID"] == again_a["Message-ID"] != first_b["Message-ID"]


def test_deliver_sends_one_email_and_nothing_when_it_must_not(app, world):
    deliveries = _emit(app, world, "match.disputed")
    with app.app_context(), mail.record_messages() as sent:
        outcome = notification_email.deliver(db.session.get(Delivery, deliveries[world["A"]]))
        assert outcome.kind is OutcomeKind.DELIVERED
        assert len(sent) == 1 and sent[0].recipients == ["nadia@example.com"]

        # Opted out after the email was queued: nothing is sent.
        preferences.set_email_opt_out(world["B"], preferences.MATCHES, True)
        db.session.commit()
        outcome = notification_email.deliver(db.session.get(Delivery, deliveries[world["B"]]))
        assert outcome.kind is OutcomeKind.GIVE_UP and "unsubscribed" in outcome.detail

        # Flag switched off: nothing is sent.
        app.config["NOTIFICATIONS_EMAIL_ENABLED"] = False
        outcome = notification_email.deliver(db.session.get(Delivery, deliveries[world["A"]]))
        assert outcome.kind is OutcomeKind.GIVE_UP and "NOTIFICATIONS_EMAIL_ENABLED" in outcome.detail
        app.config["NOTIFICATIONS_EMAIL_ENABLED"] = True

        db.session.get(User, world["A"]).active = False
        db.session.commit()
        outcome = notification_email.deliver(db.session.get(Delivery, deliveries[world["A"]]))
        assert outcome.kind is OutcomeKind.GIVE_UP
        assert len(sent) == 1


def test_no_email_delivery_is_queued_when_the_flag_is_off(make_app):
    app = make_app(NOTIFICATIONS_EMAIL_ENABLED=False)
    with app.app_context():
        t = f.series_tournament("cup", teams=("A", "B"))
        game = f.game(f.series(t, "gf", "A", "B", 3), None, state="scheduled")
        user = User(email="p@example.com", display_name="P")
        db.session.add(user)
        db.session.flush()
        db.session.add(Registration(tournament_id=t.id, participant_id=f.participant(t, "A").id, user_id=user.id))
        game.state = "live"
        event = outbox.emit("match.started", tournament_id=t.id, data=outbox.match_data(t, game), subject=game)
        db.session.commit()
        assert [d for d in event.deliveries if d.channel == "email"] == []


def _unsubscribe_path(app, world, category=preferences.PAYMENTS):
    with app.app_context():
        return "/unsubscribe/" + preferences.unsubscribe_token(world["A"], category)


def test_unsubscribe_get_only_asks_and_one_click_post_unsubscribes(app, world):
    path = _unsubscribe_path(app, world)
    client = app.test_client()
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "n***@example.com" in html and "nadia@example.com" not in html
    assert f'action="{path}"' in html and ">Unsubscribe</button>" in html
    with app.app_context():
        assert preferences.wants_email(world["A"], preferences.PAYMENTS)

    # RFC 8058: the mail provider POSTs this body, with no cookie and no CSRF token.
    response = app.test_client().post(
        path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert "gets no more emails about" in response.get_data(as_text=True)
    with app.app_context():
        assert not preferences.wants_email(world["A"], preferences.PAYMENTS)
        assert preferences.wants_email(world["A"], preferences.MATCHES)
        assert preferences.wants_email(world["B"], preferences.PAYMENTS)
    # Again (a second click, a retrying provider): same answer, still one opt-out.
    assert app.test_client().post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with app.app_context():
        assert db.session.scalars(select(preferences.EmailOptOut)).all()[0].category == "payments"
        assert len(db.session.scalars(select(preferences.EmailOptOut)).all()) == 1
    assert "gets no more emails" in client.get(path).get_data(as_text=True)
    # The queued payment email is not sent any more.
    deliveries = _emit(app, world, "payment.verified")
    assert deliveries == {}


def test_unsubscribe_refuses_altered_tokens(app, world):
    path = _unsubscribe_path(app, world)
    for bad in [path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb"), "/unsubscribe/nonsense", path + "x"]:
        for method in ("get", "post"):
            response = getattr(app.test_client(), method)(bad)
            assert response.status_code == 400, (bad, method)
            assert "not valid" in response.get_data(as_text=True)
    with app.app_context():
        other_key = preferences.URLSafeSerializer("another-key", salt="deltacrown.unsubscribe.v1")
        forged = other_key.dumps({"u": world["B"], "c": "matches"})
        assert db.session.scalars(select(preferences.EmailOptOut)).all() == []
    assert app.test_client().post("/unsubscribe/" + forged).status_code == 400
    with app.app_context():
        assert db.session.scalars(select(preferences.EmailOptOut)).all() == []


def test_preferences_page_turns_categories_off_and_on(app, world, client, auth):
    auth.login("nadia@example.com", "player password 1")
    page = client.get("/account/notifications")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count("checked") == 3
    token = csrf_token_from(html)
    response = client.post("/account/notifications", data={"csrf_token": token, "email": ["payments"]})
    assert response.status_code == 302
    with app.app_context():
        assert preferences.email_preferences(world["A"]) == {"payments": True, "matches": False, "tournaments": False}
    html = client.get("/account/notifications").get_data(as_text=True)
    assert html.count("checked") == 1
    client.post("/account/notifications", data={"csrf_token": token, "email": ["payments", "matches", "tournaments"]})
    with app.app_context():
        assert all(preferences.email_preferences(world["A"]).values())
    assert client.post("/account/notifications", data={"email": []}).status_code == 400
    bad = client.post("/account/notifications", data={"csrf_token": token, "email": ["spam"]})
    assert bad.status_code == 400
    with app.app_context():
        assert all(preferences.email_preferences(world["A"]).values())


def test_production_refuses_email_without_a_public_base_url(tmp_path):
    from app import create_app
    from app.config import ConfigError

    production = {"SECRET_KEY": "k" * 40, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}"}
    for base in ("http://127.0.0.1:5000", "http://play.example.org", "play.example.org", ""):
        with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
            create_app({**production, "NOTIFICATIONS_EMAIL_ENABLED": True, "PUBLIC_BASE_URL": base})
    app = create_app({**production, "NOTIFICATIONS_EMAIL_ENABLED": True, "PUBLIC_BASE_URL": BASE})
    assert app.config["PUBLIC_BASE_URL"] == BASE
    assert create_app({**production, "NOTIFICATIONS_EMAIL_ENABLED": False}).config["PUBLIC_BASE_URL"]
