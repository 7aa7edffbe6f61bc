"""Every spelling of a loopback (or otherwise private) host is refused by the portal's URL check
and by the connect-time guard, through one function (issue 14)."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from app.notifications import net, webhooks
from tests.conftest import csrf_token_from

# 33 ways to write "this machine" in a URL's host.
LOOPBACK_SPELLINGS = [
    "localhost",
    "LOCALHOST",
    "localhost.",
    "api.localhost",
    "api.localhost.",
    "127.0.0.1",
    "127.0.0.1.",
    "127.1",
    "127.0.1",
    "127.000.000.001",
    "0x7f000001",
    "0X7F000001",
    "0x7f.0.0.1",
    "0x7f.1",
    "2130706433",
    "0177.0.0.1",
    "0177.1",
    "017700000001",
    "127.255.255.254",
    "0",
    "0.0.0.0",
    "0x0",
    "127。0。0。1",  # ideographic full stops
    "127．0．0．1",  # full-width full stops
    "127｡0｡0｡1",  # half-width ideographic full stops
    "１２７.０.０.１",  # full-width digits
    "①②⑦.0.0.1",  # circled digits
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[64:ff9b::7f00:1]",
]


@pytest.fixture
def guarded(make_app):
    app = make_app(WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
    with app.app_context():
        yield app


def test_there_are_33_spellings():
    assert len(set(LOOPBACK_SPELLINGS)) == 33


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_the_url_check_refuses_every_loopback_spelling(guarded, host):
    problem = webhooks.check_url(f"http://{host}:8080/hooks")
    assert problem is not None, host
    assert "webhooks only go to public addresses" in problem


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_the_connect_time_guard_refuses_every_loopback_spelling(host):
    with pytest.raises(net.RefusedAddress):
        net.guarded_create_connection((host.strip("[]"), 9), timeout=1, allow_private=False)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("1.2.3", "1.2.0.3"),
        ("10.1", "10.0.0.1"),
        ("0xa.0x1.0x2.0x3", "10.1.2.3"),
        ("127。0。0。1", "127.0.0.1"),
        ("8.8.8.8.", "8.8.8.8"),
    ],
)
def test_literal_address_reads_hosts_as_the_resolver_does(host, expected):
    assert net.literal_address(host) == ipaddress.ip_address(expected)


@pytest.mark.parametrize(
    "host", ["127.1", "0x7f000001", "2130706433", "0177.0.0.1", "0", "1.2.3", "10.1", "0xa.1", "017700000001"]
)
def test_literal_address_agrees_with_the_system_inet_aton(host):
    assert net.literal_address(host) == ipaddress.IPv4Address(socket.inet_aton(host))


@pytest.mark.parametrize("host", ["example.com", "hooks.example.org.", "256.1", "1.2.3.4.5", "09.1.1.1", "0x1g"])
def test_names_are_left_to_dns_and_the_guard(host):
    assert net.literal_address(host) is None


@pytest.mark.parametrize("host", ["hooks.example.com", "93.184.215.14", "[2606:4700:4700::1111]", "0x5db8d70e"])
def test_public_hosts_pass_the_url_check(guarded, host):
    assert webhooks.check_url(f"https://{host}/hooks") is None


@pytest.mark.parametrize("host", ["10.1", "0xa000001", "192.168.1", "[::ffff:10.0.0.1]", "169.254.169.254."])
def test_private_spellings_are_refused_too(guarded, host):
    assert webhooks.check_url(f"https://{host}/hooks") is not None


def test_the_portal_form_refuses_a_loopback_spelling(make_app):
    from tests.conftest import create_user

    app = make_app(WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
    create_user(app, "admin@example.com", "admin password 1", staff=True, admin=True)
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": "admin@example.com", "password": "admin password 1", "csrf_token": token})
    page = client.get("/staff/webhooks/")
    token = csrf_token_from(page.get_data(as_text=True))
    for host in ("127。0。0。1", "0x7f000001", "localhost."):
        response = client.post(
            "/staff/webhooks/",
            data={"csrf_token": token, "url": f"http://{host}/hooks", "description": "x", "event_types": []},
        )
        assert response.status_code == 400, host
        assert "webhooks only go to public addresses" in response.get_data(as_text=True)


def test_with_private_networks_allowed_the_check_lets_loopback_through(make_app):
    app = make_app(WEBHOOK_ALLOW_PRIVATE_NETWORKS=True)
    with app.app_context():
        assert webhooks.check_url("http://127.1:8080/hooks") is None
