"""The production topology behaves as one site: results cross instances through nginx within
2 s, log-in limits are shared, killing an instance loses no acknowledged request, and a rolling
restart (one instance at a time) drops no viewer poll."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import uuid

import pytest
import requests

from app import create_app
from app.extensions import db
from app.models import Match, User
from app.services.accounts.tokens import create_token
from tests import factories as f

pytestmark = pytest.mark.cluster

SLUG = "cluster-cup"
TEAMS = tuple(f"T{n:02d}" for n in range(1, 17))
HX = {"HX-Request": "true"}
STAFF_EMAIL = "cluster-staff@example.com"
STAFF_PASSWORD = "cluster password 123"


@pytest.fixture(scope="module")
def seeded(cluster):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": cluster.database_url})
    with app.app_context():
        f.br_tournament(SLUG, teams=TEAMS)
        user = User(email=STAFF_EMAIL, display_name="Cluster staff", is_staff=True)
        user.set_password(STAFF_PASSWORD)
        db.session.add(user)
        db.session.commit()
        token = create_token(user.id)
    yield {"app": app, "token": token}
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _post_lobby(base: str, token: str, n: int, timeout: float = 10) -> requests.Response:
    results = [
        {"participant": team, "placement": (i + n) % len(TEAMS) + 1, "kills": (i * n) % 5}
        for i, team in enumerate(TEAMS)
    ]
    return requests.post(
        f"{base}/api/tournaments/{SLUG}/matches/",
        json={"stage": "Finals", "results": results},
        headers={"Authorization": f"Bearer {token}"},
        timeout=timeout,
    )


def _version(etag: str) -> int:
    return int(re.search(r"t\d+\.\d+\.(\d+)-", etag).group(1))


def test_a_result_posted_to_one_instance_is_visible_through_nginx_and_the_other_within_2s(cluster, seeded):
    page = f"/tournaments/{SLUG}/"
    before = requests.get(cluster.base + page, headers=HX, timeout=5)
    assert before.status_code == 200
    posted = _post_lobby(cluster.instance(0), seeded["token"], 1)
    assert posted.status_code == 201, posted.text
    acknowledged = time.monotonic()
    seen: dict[str, float] = {}

    def watch(name: str, base: str) -> None:
        # Each path polled on its own, as a viewer would: one does not wait for the other.
        session = requests.Session()
        while time.monotonic() - acknowledged < 5:
            response = session.get(base + page, headers={**HX, "If-None-Match": before.headers["ETag"]}, timeout=5)
            if response.status_code == 200 and _version(response.headers["ETag"]) > _version(before.headers["ETag"]):
                seen[name] = time.monotonic() - acknowledged
                return
            time.sleep(0.05)

    watchers = [
        threading.Thread(target=watch, args=("nginx", cluster.base)),
        threading.Thread(target=watch, args=("instance B", cluster.instance(1))),
    ]
    for thread in watchers:
        thread.start()
    for thread in watchers:
        thread.join()
    assert set(seen) == {"nginx", "instance B"}, seen
    assert max(seen.values()) <= 2.0, seen


def test_nginx_answers_polls_from_its_cache_honouring_the_apps_headers(cluster, seeded):
    page = f"{cluster.base}/tournaments/{SLUG}/"
    first = requests.get(page, headers=HX, timeout=5)
    again = requests.get(page, headers=HX, timeout=5)
    assert again.headers["X-Cache"] in ("HIT", "UPDATING", "REVALIDATED")
    assert again.headers["ETag"] == first.headers["ETag"]
    not_modified = requests.get(page, headers={**HX, "If-None-Match": again.headers["ETag"]}, timeout=5)
    assert not_modified.status_code == 304
    full = requests.get(page, timeout=5)  # the page and its fragment are kept apart (Vary)
    assert full.text.startswith("<!doctype html>") and not again.text.startswith("<!doctype html>")
    login = requests.get(f"{cluster.base}/login", timeout=5)
    assert "X-Cache" not in login.headers and login.headers["Cache-Control"] == "no-store"


def _fresh(seeded) -> str:
    """The page of a new tournament: a cache key nginx has never seen. (Not a junk query key on
    a known page: the app answers those with a redirect to the canonical address.)"""
    slug = f"fresh-{uuid.uuid4().hex[:12]}"
    with seeded["app"].app_context():
        f.br_tournament(slug, teams=TEAMS)
        db.session.commit()
        db.session.remove()
    return f"/tournaments/{slug}/"


def _reached_app(lines: list[dict[str, str]]) -> list[dict[str, str]]:
    return [line for line in lines if line["upstream"] != "-"]


def test_a_repeat_polls_304_is_answered_by_nginx_without_asking_the_app(cluster, seeded):
    for _ in range(3):  # both requests within the cached second (a loaded machine may need another go)
        uri = _fresh(seeded)
        started = time.monotonic()
        first = requests.get(cluster.base + uri, headers=HX, timeout=5)
        again = requests.get(cluster.base + uri, headers={**HX, "If-None-Match": first.headers["ETag"]}, timeout=5)
        if time.monotonic() - started < 0.9:
            break
    assert first.status_code == 200 and first.headers["X-Cache"] == "MISS"
    assert again.status_code == 304 and again.headers["X-Cache"] == "HIT", again.headers
    assert again.headers["ETag"] == first.headers["ETag"] and again.content == b""
    # Only the first reached an app instance; the 304 came from nginx's copy. (Matched by status,
    # not by order: two answers within one millisecond may be logged either way round.)
    lines = {line["status"]: line for line in cluster.nginx_log(uri, 2)}
    assert set(lines) == {"200", "304"}, lines
    assert lines["200"]["cache"] == "MISS" and lines["200"]["upstream"] != "-", lines
    assert lines["304"]["cache"] == "HIT" and lines["304"]["upstream"] == "-", lines


def test_simultaneous_cold_requests_for_one_key_reach_the_app_once(cluster, seeded):
    uri = _fresh(seeded)
    viewers = 20
    barrier = threading.Barrier(viewers)
    answers: list[tuple[int, str, str]] = []

    def viewer() -> None:
        session = requests.Session()
        session.get(f"{cluster.base}/healthz", timeout=5)  # connected before the barrier
        barrier.wait(timeout=10)
        response = session.get(cluster.base + uri, headers=HX, timeout=10)
        answers.append((response.status_code, response.headers.get("X-Cache", ""), response.headers.get("ETag", "")))

    threads = [threading.Thread(target=viewer) for _ in range(viewers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answers) == viewers and {status for status, _, _ in answers} == {200}, answers
    assert len({etag for _, _, etag in answers}) == 1
    lines = cluster.nginx_log(uri, viewers)
    assert len(lines) == viewers, lines
    # proxy_cache_lock: one request fetched the key, the other 19 waited for it and got its copy.
    assert len(_reached_app(lines)) == 1, lines
    assert sorted(cache for _, cache, _ in answers) == ["HIT"] * (viewers - 1) + ["MISS"]


def _cookies(response: requests.Response, jar: dict[str, str]) -> dict[str, str]:
    # Production cookies are Secure; a client on plain http keeps and sends them by hand.
    return {**jar, **{cookie.name: cookie.value for cookie in response.cookies}}


def _cookie_header(jar: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in jar.items())}


def test_a_private_answer_in_the_cached_location_is_never_served_to_another_client(cluster, seeded):
    """A public page with a flashed message waiting for this visitor is rendered for them alone
    (`private`, and a Set-Cookie that clears the message); the registration page is `private,
    no-store`. nginx stores neither: another client asking for the same URI gets its own answer."""
    email, password = f"viewer-{uuid.uuid4().hex[:8]}@example.com", "viewer password 123"
    with seeded["app"].app_context():
        user = User(email=email, display_name="Cluster viewer")
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        db.session.remove()
    page = _fresh(seeded)
    login_page = requests.get(f"{cluster.base}/login", timeout=5)
    jar = _cookies(login_page, {})
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page.text).group(1)
    logged_in = requests.post(
        f"{cluster.base}/login",
        data={"email": email, "password": password, "csrf_token": token, "next": page},
        headers=_cookie_header(jar),
        allow_redirects=False,
        timeout=5,
    )
    assert logged_in.status_code == 302 and logged_in.headers["Location"].endswith(page), logged_in.text[:300]
    jar = _cookies(logged_in, jar)

    # The viewer's page, with "Logged in as ..." on it: private, clears the flash (Set-Cookie).
    mine = requests.get(cluster.base + page, headers=_cookie_header(jar), timeout=5)
    assert mine.status_code == 200 and f"Logged in as {email}" in mine.text
    assert "private" in mine.headers["Cache-Control"] and "Set-Cookie" in mine.headers
    assert mine.headers["X-Cache"] == "MISS"
    # Someone else, at once and a moment later: never the viewer's copy.
    for _ in range(2):
        theirs = requests.get(cluster.base + page, timeout=5)
        assert theirs.status_code == 200 and email not in theirs.text and "Logged in as" not in theirs.text
        assert theirs.headers["X-Cache"] in ("MISS", "HIT") and "private" not in theirs.headers["Cache-Control"]
    # The second anonymous answer is a HIT of the first anonymous one: the key is cached, just
    # never with the private body.
    assert theirs.headers["X-Cache"] == "HIT"

    # `private, no-store` inside the cached location: the registration page of a logged-in player.
    register = f"/tournaments/{SLUG}/register"
    own = requests.get(cluster.base + register, headers=_cookie_header(jar), allow_redirects=False, timeout=5)
    assert own.headers["Cache-Control"] == "private, no-store" and own.headers["X-Cache"] == "MISS"
    other = requests.get(cluster.base + register, allow_redirects=False, timeout=5)
    assert other.status_code == 302 and "/login" in other.headers["Location"]
    assert other.headers["X-Cache"] == "MISS"
    lines = cluster.nginx_log(page, 3)
    assert sorted(line["cache"] for line in lines) == ["HIT", "MISS", "MISS"], lines
    assert len(_reached_app(lines)) == 2, lines
    assert len(_reached_app(cluster.nginx_log(register, 2))) == 2

    # Once the message is shown, the logged-in viewer's answers are the shared ones (no `Vary:
    # Cookie`): a key they fetched first is a HIT for an anonymous viewer right after.
    jar = _cookies(mine, jar)
    for _ in range(3):
        shared = _fresh(seeded)
        started = time.monotonic()
        viewer = requests.get(cluster.base + shared, headers={**HX, **_cookie_header(jar)}, timeout=5)
        anonymous = requests.get(cluster.base + shared, headers=HX, timeout=5)
        if time.monotonic() - started < 0.9:
            break
    assert viewer.headers["X-Cache"] == "MISS" and "Cookie" not in viewer.headers.get("Vary", ""), viewer.headers
    assert "public" in viewer.headers["Cache-Control"] and "Set-Cookie" not in viewer.headers
    assert anonymous.headers["X-Cache"] == "HIT" and anonymous.content == viewer.content


def test_tracking_junk_on_a_link_lands_on_the_address_nginx_holds(cluster, seeded):
    junk = requests.get(f"{cluster.base}/tournaments/{SLUG}/?fbclid=IwAR0abc", allow_redirects=False, timeout=5)
    assert junk.status_code == 302 and junk.headers["Location"] == f"/tournaments/{SLUG}/"
    followed = requests.get(f"{cluster.base}/tournaments/{SLUG}/?fbclid=IwAR0abc", timeout=5)
    assert followed.status_code == 200 and followed.url == f"{cluster.base}/tournaments/{SLUG}/"


def _login(base: str, password: str) -> int:
    page = requests.get(f"{base}/login", timeout=5)
    # Production cookies are Secure; a client on plain http must send them back by hand.
    cookie = page.headers["Set-Cookie"].split(";", 1)[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = requests.post(
        f"{base}/login",
        data={"email": STAFF_EMAIL, "password": password, "csrf_token": token},
        headers={"Cookie": cookie},
        allow_redirects=False,
        timeout=5,
    )
    return response.status_code


def test_log_in_limits_count_across_instances(cluster, seeded):
    a, b = cluster.instance(0), cluster.instance(1)
    for base in (a, b, a, b, a):  # LOGIN_LIMIT_PER_ACCOUNT: 5 per 15 minutes
        assert _login(base, "wrong password") == 401
    assert _login(b, STAFF_PASSWORD) == 429
    assert _login(a, STAFF_PASSWORD) == 429


class Load:
    """Viewers polling through nginx and staff posting lobbies through nginx, in threads."""

    def __init__(self, cluster, token: str) -> None:
        self.cluster = cluster
        self.token = token
        self.stop = threading.Event()
        self.polls: list[int] = []
        self.uncached: list[int] = []
        self.acknowledged: list[int] = []
        self.refused: list[str] = []
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._viewer, daemon=True) for _ in range(4)]
        self.threads.append(threading.Thread(target=self._uncached_viewer, daemon=True))
        self.threads.append(threading.Thread(target=self._staff, daemon=True))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _viewer(self) -> None:
        session = requests.Session()
        etag = None
        while not self.stop.is_set():
            headers = {**HX, **({"If-None-Match": etag} if etag else {})}
            try:
                response = session.get(f"{self.cluster.base}/tournaments/{SLUG}/", headers=headers, timeout=10)
                self.polls.append(response.status_code)
                etag = response.headers.get("ETag", etag)
            except requests.RequestException as exc:
                self.polls.append(0)
                self.errors.append(repr(exc))
            time.sleep(0.05)

    def _uncached_viewer(self) -> None:
        # /readyz is never cached: every one of these reaches an app instance.
        session = requests.Session()
        while not self.stop.is_set():
            try:
                self.uncached.append(session.get(f"{self.cluster.base}/readyz", timeout=10).status_code)
            except requests.RequestException as exc:
                self.uncached.append(0)
                self.errors.append(repr(exc))
            time.sleep(0.02)

    def _staff(self) -> None:
        n = 100
        while not self.stop.is_set():
            n += 1
            try:
                response = _post_lobby(self.cluster.base, self.token, n)
            except requests.RequestException as exc:
                self.refused.append(str(exc))
                continue
            if response.status_code == 201:
                self.acknowledged.append(response.json()["match"]["id"] if "match" in response.json() else n)
            else:
                self.refused.append(str(response.status_code))
            time.sleep(0.1)


def _wait_restarted(cluster, name: str, starts_before: int, port_index: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cluster.starts(name) > starts_before:
            try:
                if requests.get(cluster.instance(port_index) + "/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
        time.sleep(0.2)
    pytest.fail(f"{name} did not come back within {timeout} s")


def _matches_in_database(seeded) -> int:
    with seeded["app"].app_context():
        count = db.session.query(Match).count()
        db.session.remove()
        return count


def test_killing_an_instance_mid_load_loses_no_acknowledged_request(cluster, seeded):
    before = _matches_in_database(seeded)
    starts = cluster.starts("web-1")
    with Load(cluster, seeded["token"]) as load:
        time.sleep(1.5)
        os.killpg(cluster.pid("web-1"), signal.SIGKILL)  # master and workers, mid-request
        time.sleep(3)
    assert load.acknowledged, "no lobby was acknowledged while the instance died"
    # Every acknowledged post is stored; a post the dying instance never answered may or may
    # not be, but the client was told it failed.
    assert _matches_in_database(seeded) >= before + len(load.acknowledged)
    assert load.polls and all(status in (200, 304) for status in load.polls), sorted(set(load.polls))
    _wait_restarted(cluster, "web-1", starts, 0)


def test_a_rolling_restart_drops_no_viewer_poll(cluster, seeded):
    before = _matches_in_database(seeded)
    with Load(cluster, seeded["token"]) as load:
        for name, index in (("web-1", 0), ("web-2", 1)):
            starts = cluster.starts(name)
            os.kill(cluster.pid(name), signal.SIGTERM)  # gunicorn: stop accepting, finish requests in flight
            _wait_restarted(cluster, name, starts, index)
            time.sleep(0.5)
    assert len(load.uncached) > 50
    assert set(load.polls) <= {200, 304}, (sorted(set(load.polls)), load.errors[:3])
    assert set(load.uncached) == {200}, (sorted(set(load.uncached)), load.errors[:3])
    # A post caught in a closing instance's queue is answered 502 (nginx never replays a POST,
    # which could record a lobby twice); every acknowledged one is stored.
    assert load.acknowledged and _matches_in_database(seeded) >= before + len(load.acknowledged)
