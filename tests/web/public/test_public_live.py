"""Live updates at constant cost, caching headers, cookies, the BR board extras, exports, favicon."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from sqlalchemy import event

from app.extensions import db
from app.live import render_cache
from app.models import Tournament
from app.services.accounts.tokens import create_token
from app.services.standings import board, chart, lobby_pages
from app.services.standings.filters import resolve_filters
from app.services.standings.leaderboard import LeaderboardService as LS
from tests import factories as f
from tests.web.public.test_public import HX, page, rename, standings_rows


@pytest.fixture
def cup(app):
    """Free Fire, four teams, two stages, a penalty, a name that needs escaping, top 2 advance."""
    with app.app_context():
        t = f.br_tournament("br-cup", preset="ffws")
        t.advancing = 2
        rename(t, "A", "Echo <Team>")
        f.lobby(t, [("A", 1, 5), ("B", 2, 3), ("C", 3, 1), ("D", 4, 0)], stage="Day 1")  # A 17, B 12, C 9, D 7
        f.lobby(t, [("D", 1, 9), ("C", 2, 2), ("B", 3, 0), ("A", 4, 0)], stage="Day 2")  # D 21, C 11, B 8, A 7
        f.adjust(t, "C", -3, "Late to lobby in match 2")
        db.session.commit()
    return "br-cup"


@pytest.fixture
def token(app, staff_user):
    with app.app_context():
        return create_token(staff_user)


def record(client, token, results, slug="br-cup", stage="Day 2"):
    body = {"stage": stage, "results": [{"participant": t, "placement": p, "kills": k} for t, p, k in results]}
    response = client.post(f"/api/tournaments/{slug}/matches/", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


class StatementCounter:
    def __init__(self, app):
        self.statements: list[str] = []
        with app.app_context():
            self.engine = db.engine

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, _conn, _cursor, statement, *_args):
        self.statements.append(statement)


# ------------------------------------------------------------------------------ live polls


def test_unchanged_poll_is_a_304_costing_one_indexed_lookup(app, client, cup):
    first, html = page(client, "/tournaments/br-cup/", headers=HX)
    etag = first.headers["ETag"]
    assert etag.startswith('W/"t') and first.headers["Cache-Control"] == "public, max-age=1, s-maxage=1"
    # The fragment carries the same ETag it is served with, for the next poll to send back.
    assert f'data-etag="{etag.replace(chr(34), "&#34;")}"' in html

    with StatementCounter(app) as counter:
        again = client.get("/tournaments/br-cup/", headers={**HX, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert "HX-Request" in again.headers["Vary"]
    assert again.headers["Cache-Control"] == "public, max-age=1, s-maxage=1"
    assert len(counter.statements) == 1, counter.statements
    assert "FROM tournaments" in counter.statements[0] and "slug" in counter.statements[0]


def test_page_and_fragment_and_filters_have_their_own_etags(client, cup):
    tags = {
        client.get("/tournaments/br-cup/").headers["ETag"],
        client.get("/tournaments/br-cup/", headers=HX).headers["ETag"],
        client.get("/tournaments/br-cup/?stage=Day%201", headers=HX).headers["ETag"],
        client.get("/tournaments/br-cup/?stage=Day%202", headers=HX).headers["ETag"],
    }
    assert len(tags) == 4
    # A page's ETag does not answer a fragment poll.
    page_tag = client.get("/tournaments/br-cup/").headers["ETag"]
    assert client.get("/tournaments/br-cup/", headers={**HX, "If-None-Match": page_tag}).status_code == 200


def test_a_new_result_changes_the_etag_and_the_fragment(app, client, cup, token):
    first = client.get("/tournaments/br-cup/", headers=HX)
    etag = first.headers["ETag"]
    record(client, token, [("B", 1, 20), ("A", 2, 0)])
    after = client.get("/tournaments/br-cup/", headers={**HX, "If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["ETag"] != etag
    html = after.get_data(as_text=True)
    assert standings_rows(html)[0] == "Team B"  # 12 + 12 + 20 + 3 = 52 points


@pytest.mark.parametrize(
    "change",
    ["state", "override", "complete", "adjustment"],
)
def test_every_change_a_page_shows_bumps_the_version(app, client, cup, token, staff_user, change):
    before = client.get("/tournaments/br-cup/", headers=HX).headers["ETag"]
    with app.app_context():
        if change == "state":
            from app.services.tournaments import states

            match = db.session.scalar(db.select(f.Match).filter_by(key="m1"))
            states.change_match_state("br-cup", match.id, "disputed", staff_user, "Checking a screenshot")
        elif change == "complete":
            LS.complete_tournament("br-cup")
        elif change == "override":
            LS.complete_tournament("br-cup")
            mid = client.get("/tournaments/br-cup/", headers=HX).headers["ETag"]
            assert mid != before
            before = mid
            LS.override_placement("br-cup", "C", 1, "Opponent used an unregistered player", staff_user)
        else:
            from app.services.tournaments import setup as tournaments

            tournaments.add_adjustment("br-cup", "B", -2, "Late check-in for the lobby", staff_user)
    after = client.get("/tournaments/br-cup/", headers={**HX, "If-None-Match": before})
    assert after.status_code == 200 and after.headers["ETag"] != before


def test_a_version_is_rendered_once_then_served_from_the_cache(app, client, cup, token):
    with app.app_context():
        cache = render_cache()
        cache.clear()
    bodies = {client.get("/tournaments/br-cup/", headers=HX).get_data() for _ in range(5)}
    assert len(bodies) == 1 and cache.renders == 1
    record(client, token, [("C", 1, 1)])
    client.get("/tournaments/br-cup/", headers=HX)
    client.get("/tournaments/br-cup/", headers=HX)
    assert cache.renders == 2


def test_render_cache_is_bounded():
    from app.live import RenderCache

    cache = RenderCache(size=3)
    for i in range(10):
        cache.put(i, b"x")
    assert cache.get(0) is None and cache.get(9) == b"x"
    assert len(cache._items) == 3


def test_series_pages_poll_with_304(app, client):
    with app.app_context():
        t = f.series_tournament("val-cup")
        s = f.series(t, "gf", "A", "B", 3)
        f.game(s, "A", (13, 5))
        db.session.commit()
    for url in ("/tournaments/val-cup/", "/tournaments/val-cup/series/gf/"):
        first = client.get(url, headers=HX)
        assert first.status_code == 200 and 'data-etag="W/' in first.get_data(as_text=True)
        assert client.get(url, headers={**HX, "If-None-Match": first.headers["ETag"]}).status_code == 304


def test_unknown_tournament_poll_is_404_not_304(client):
    assert client.get("/tournaments/nope/", headers={**HX, "If-None-Match": 'W/"t1.0.0-abc"'}).status_code == 404


# ------------------------------------------------------------------------------ cookies


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/", {}),
        ("/tournaments/br-cup/", {}),
        ("/tournaments/br-cup/", HX),
        ("/tournaments/br-cup/?stage=Nope", {}),
        ("/tournaments/nope/", {}),
        ("/tournaments/br-cup/standings.csv", {}),
        ("/embed/br-cup", {}),
        ("/embed/br-cup", HX),
        ("/favicon.ico", {}),
    ],
)
def test_anonymous_public_responses_set_no_cookie_and_do_not_vary_on_one(client, cup, url, headers):
    response = client.get(url, headers=headers)
    body = response.get_data()
    response.close()
    assert "Set-Cookie" not in response.headers, response.headers.get("Set-Cookie")
    assert "Cookie" not in response.headers.get("Vary", "")
    assert b'name="csrf-token"' not in body


def test_logged_in_pages_carry_the_csrf_meta_and_are_private(client, cup, staff_user, auth):
    auth.login()
    response, html = page(client, "/tournaments/br-cup/")
    assert re.search(r'<meta name="csrf-token" content="[^"]+">', html)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in response.headers
    assert "Cookie" in response.headers["Vary"]
    # The fragment is the same for everyone, so it stays shareable.
    fragment = client.get("/tournaments/br-cup/", headers=HX)
    assert fragment.headers["Cache-Control"].startswith("public")


def test_layout_loads_app_js_and_htmx_config(client, cup):
    _, html = page(client, "/tournaments/br-cup/")
    assert '<script src="/static/js/app.js" defer></script>' in html
    assert '{"code": "304", "swap": false}' in html  # htmx swaps nothing on an unchanged poll
    assert "<script>" not in html and " style=" not in html
    static = client.get("/static/js/app.js")
    js = static.get_data(as_text=True)
    static.close()
    assert "X-CSRFToken" in js and "htmx:configRequest" in js and "If-None-Match" in js


# ------------------------------------------------------------------------------ the board


def test_movement_gap_and_advancement_line(client, cup):
    _, html = page(client, "/tournaments/br-cup/")
    assert standings_rows(html) == ["Team D", "Echo &lt;Team&gt;", "Team B", "Team C"]
    table = html[html.index('class="table standings"') : html.index("</table>")]
    rows = table.split("<tr")[2:]
    # Adjustments count before and after: after m1 A 17, B 12, D 7, C 9 - 3 = 6;
    # after m2 D 28, A 24, B 20, C 17.
    assert "▲2" in rows[0] and "up 2" in rows[0]  # D: 3rd -> 1st
    assert "▼1" in rows[1]  # A: 1st -> 2nd
    assert 'class="cutline"' in rows[2] and "the top 2 qualify" in rows[2]
    assert "▼1" in rows[3]  # B: 2nd -> 3rd
    assert "no change" in rows[4]  # C: 4th -> 4th
    assert "+8 clear" in rows[0] and "+4 clear" in rows[1]
    assert "4 behind" in rows[3] and "7 behind" in rows[4]
    assert "−4" in rows[1] and "−4" in rows[3] and "−3" in rows[4]  # gaps to the row above


def test_new_team_is_marked_new(app, client, cup, token):
    with app.app_context():
        t = db.session.scalar(db.select(Tournament).filter_by(slug="br-cup"))
        db.session.add(f.Participant(tournament_id=t.id, key="E", name="Team E"))
        db.session.commit()
    record(client, token, [("E", 1, 2)])
    _, html = page(client, "/tournaments/br-cup/")
    row = html[html.index('<span class="team-name">Team E</span>') - 400 :]
    assert 'class="move move--new">new</span>' in row


def test_no_cutline_on_a_stage_filter(client, cup):
    _, html = page(client, "/tournaments/br-cup/?stage=Day%201")
    assert 'class="cutline"' not in html and "To the line" not in html


def test_matches_filter_uses_keys(client, cup):
    _, html = page(client, "/tournaments/br-cup/?matches=m2")
    assert standings_rows(html) == ["Team D", "Team C", "Team B", "Echo &lt;Team&gt;"]
    assert "Standings over matches m2" in html
    response, html = page(client, "/tournaments/br-cup/?matches=m2,nope", status=404)
    assert "There is no match “nope”" in html


def test_chart_is_svg_with_legend_accessible_text_and_escaped_names(client, cup):
    _, html = page(client, "/tournaments/br-cup/")
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert 'role="img"' in svg and 'aria-labelledby="chart-title chart-desc"' in svg
    assert "<title" in svg and "<desc" in svg
    assert svg.count("<polyline") == 4
    assert "Echo &lt;Team&gt;: 24 points" in svg and "Echo <Team>" not in svg
    legend = html[html.index('class="chart__legend"') :]
    assert "Echo &lt;Team&gt;" in legend[: legend.index("</ul>")]
    assert "http://" not in svg.replace("http://www.w3.org", "")  # no external chart library


def test_chart_samples_many_matches_and_limits_teams(app, client):
    with app.app_context():
        teams = tuple(f"T{i}" for i in range(14))
        t = f.br_tournament("big", teams=teams)
        for n in range(chart.CHART_SAMPLES + 30):
            f.lobby(t, [(team, (i + n) % 14 + 1, 1) for i, team in enumerate(teams)], key=f"m{n}", minutes=n)
        db.session.commit()
    _, html = page(client, "/tournaments/big/")
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert svg.count("<polyline") == chart.CHART_TEAMS
    points = re.search(r'points="([^"]+)"', svg).group(1).split()
    assert len(points) <= chart.CHART_SAMPLES + 1
    assert "and 4 more" in html


def test_lobby_list_is_paged_so_big_tournaments_stay_small(app, client):
    with app.app_context():
        t = f.br_tournament("many", teams=("A", "B"))
        for n in range(250):
            f.lobby(t, [("A", 1 + n % 2, 0), ("B", 2 - n % 2, 0)], key=f"m{n:03d}", minutes=n)
        db.session.commit()
    response, html = page(client, "/tournaments/many/")
    assert html.count('<th scope="row">m') == lobby_pages.LOBBIES_PER_PAGE
    assert '<th scope="row">m249</th>' in html and '<th scope="row">m000</th>' not in html  # newest first
    assert "250 matches, newest first · page 1 of 13" in html
    assert 'href="/tournaments/many/?lobbies=2" rel="next">Older</a>' in html
    _, last = page(client, "/tournaments/many/?lobbies=13")
    assert '<th scope="row">m000</th>' in last and 'rel="prev">Newer</a>' in last
    beyond = client.get("/tournaments/many/?lobbies=99&stage=")  # past the last: to the last
    assert beyond.status_code == 302 and beyond.headers["Location"] == "/tournaments/many/?stage=&lobbies=13"
    fragment = client.get("/tournaments/many/", headers=HX).get_data()
    assert len(fragment) < 60_000


@pytest.mark.parametrize("value", ["0", "-1", "x", "1.5", "9999999"])
def test_bad_lobby_page_is_400(client, cup, value):
    response = client.get(f"/tournaments/br-cup/?lobbies={value}")
    assert response.status_code == 400
    assert "lobbies: must be a page number" in response.get_data(as_text=True)


def test_completed_tournament_shows_qualified_badges(app, client, cup, staff_user):
    with app.app_context():
        LS.complete_tournament("br-cup")
        LS.override_placement("br-cup", "C", 1, "Opponent used an unregistered player", staff_user)
    _, html = page(client, "/tournaments/br-cup/")
    results = html[html.index('id="standings-heading"') :]
    assert results.count("badge--qualified") == 2
    assert "badge--override" in results and "Opponent used an unregistered player" in results


def test_share_section_offers_embed_code_and_overlay_link(client, cup):
    _, html = page(client, "/tournaments/br-cup/")
    assert (
        '<textarea id="embed-code" class="code-field" rows="2" readonly>&lt;script '
        "src=&#34;http://127.0.0.1:5000/embed.js&#34; data-tournament=&#34;br-cup&#34; "
        "async&gt;&lt;/script&gt;</textarea>"
    ) in html
    assert 'value="http://127.0.0.1:5000/embed/br-cup?overlay=1" readonly' in html
    assert 'data-copy-target="embed-code" hidden' in html  # revealed by app.js only


# ------------------------------------------------------------------------------ exports


def test_csv_export(client, cup):
    response = client.get("/tournaments/br-cup/standings.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="br-cup-standings.csv"'
    assert response.headers["ETag"] and response.headers["Cache-Control"].startswith("public")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["participant_name"] for r in rows] == ["Team D", "Echo <Team>", "Team B", "Team C"]
    assert rows[3]["adjustment_points"] == "-3"  # numbers are not touched
    again = client.get("/tournaments/br-cup/standings.csv", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_json_export_matches_the_service_and_filters(app, client, cup):
    response = client.get("/tournaments/br-cup/standings.json?stage=Day%201")
    assert response.headers["Content-Disposition"] == 'attachment; filename="br-cup-standings-day-1.json"'
    with app.app_context():
        expected = LS.calculate_br_standings("br-cup", stage="Day 1")
    assert json.loads(response.get_data(as_text=True)) == expected
    by_key = client.get("/tournaments/br-cup/standings.json?matches=m2")
    assert by_key.headers["Content-Disposition"] == 'attachment; filename="br-cup-standings-selected-matches.json"'
    assert [r["participant_id"] for r in by_key.get_json()] == ["D", "C", "B", "A"]


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR"])
def test_csv_is_safe_against_formula_injection(app, client, cup, name):
    with app.app_context():
        t = db.session.scalar(db.select(Tournament).filter_by(slug="br-cup"))
        rename(t, "B", name)
        db.session.commit()
    body = client.get("/tournaments/br-cup/standings.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body)))
    names = [r[2] for r in rows[1:]]
    assert "'" + name in names
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for r in rows for cell in r)


@pytest.mark.parametrize(
    ("url", "status", "needle"),
    [
        ("/tournaments/nope/standings.csv", 404, "There is no tournament"),
        ("/tournaments/br-cup/standings.csv?stage=Nope", 404, "There is no stage called"),
        ("/tournaments/br-cup/standings.json?matches=zz", 404, "There is no match “zz”"),
        ("/tournaments/val-cup/standings.csv", 404, "it has series, not standings"),
    ],
)
def test_export_errors(app, client, cup, url, status, needle):
    with app.app_context():
        f.series_tournament("val-cup")
        db.session.commit()
    response = client.get(url)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert "Content-Disposition" not in response.headers
    assert needle in response.get_data(as_text=True)


# ------------------------------------------------------------------------------ favicon, index


def test_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.get_data()[:4] == b"\x00\x00\x01\x00"  # an ICO file
    response.close()
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and b"<svg" in svg.get_data()
    svg.close()
    _, html = page(client, "/")
    assert 'rel="icon"' in html


def test_index_etag_follows_list_changes_not_results(app, client, cup, token):
    first = client.get("/")
    assert client.get("/", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    record(client, token, [("A", 1, 1)])  # results are not on the list
    assert client.get("/", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    with app.app_context():
        db.session.scalar(db.select(Tournament).filter_by(slug="br-cup")).name = "Renamed Cup"
        db.session.commit()
    second = client.get("/", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200 and "Renamed Cup" in second.get_data(as_text=True)


def test_board_rows_equal_the_leaderboard_service(app, cup):
    """The page ranks with the engine over the rows it reads itself; it must agree with the service."""
    with app.app_context():
        f.lobby(
            db.session.scalar(db.select(Tournament).filter_by(slug="br-cup")), [("B", 1, 6), ("C", 2, 6)], stage="Day 2"
        )
        db.session.commit()
        t = db.session.scalar(db.select(Tournament).filter_by(slug="br-cup"))
        for stage, keys in [(None, ()), ("Day 1", ()), ("Day 2", ()), (None, ("m2", "m3")), (None, ("m1",))]:
            filters = resolve_filters(t, stage, keys)
            expected = LS.calculate_br_standings(t.id, match_ids=filters.match_ids, stage=stage)
            shown = board.battle_royale_board(t, filters)["standings"]
            assert [{key: row[key] for key in expected[0]} for row in shown] == expected


def test_many_stages_get_a_compact_chooser(app, client):
    with app.app_context():
        t = f.br_tournament("stages", teams=("A", "B"))
        for n in range(15):
            f.lobby(t, [("A", 1, 0), ("B", 2, 0)], stage=f"Round {n + 1}", minutes=n)
        db.session.commit()
    _, html = page(client, "/tournaments/stages/")
    assert '<select id="stage-select" name="stage">' in html and "<option>Round 15</option>" in html
    _, html = page(client, "/tournaments/stages/?stage=Round+3")
    assert "<option selected>Round 3</option>" in html and "Standings for Round 3" in html


def test_a_visitor_with_a_session_gets_a_private_render_never_a_shared_one(app, client, cup):
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "Only for this visitor")]
    mine = client.get("/tournaments/br-cup/")
    assert "Only for this visitor" in mine.get_data(as_text=True)
    assert mine.headers["Cache-Control"] == "private, no-store" and "ETag" not in mine.headers
    stranger = app.test_client().get("/tournaments/br-cup/")
    assert "Only for this visitor" not in stranger.get_data(as_text=True)
    assert stranger.headers["Cache-Control"].startswith("public")


def test_a_remember_me_cookie_alone_gets_the_shared_page_and_fetches_its_header(app, client, cup):
    client.set_cookie("remember_token", "1:whatever")
    response = client.get("/tournaments/br-cup/")
    assert response.headers["Cache-Control"].startswith("public")
    assert 'hx-get="/account-nav"' in response.get_data(as_text=True)
    assert client.get("/account-nav").status_code == 204  # the cookie opens no account


def test_big_bodies_are_gzipped_once_per_version(app, client, cup):
    import gzip

    plain = client.get("/tournaments/br-cup/", headers=HX)
    packed = client.get("/tournaments/br-cup/", headers={**HX, "Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"] and "Accept-Encoding" in plain.headers["Vary"]
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    assert packed.headers["ETag"] == plain.headers["ETag"]
    assert len(packed.get_data()) < len(plain.get_data()) / 3
    assert "Content-Encoding" not in plain.headers


def test_absolute_links_come_from_public_base_url_not_the_host_asked_for(make_app, cup):
    app = make_app(PUBLIC_BASE_URL="https://live.example", ALLOWED_HOSTS="mirror.example")
    client = app.test_client()
    one = client.get("/tournaments/br-cup/", base_url="http://mirror.example").get_data(as_text=True)
    two = client.get("/tournaments/br-cup/", base_url="https://live.example").get_data(as_text=True)
    assert "https://live.example/embed.js" in one and "mirror.example" not in one
    assert "https://live.example/embed.js" in two
    widget = client.get("/embed/br-cup", base_url="https://mirror.example").get_data(as_text=True)
    assert "https://live.example/tournaments/br-cup/" in widget and "mirror.example" not in widget


def test_chart_labels_each_match_and_uses_round_ticks(app, client):
    from app.services.standings import chart

    assert chart.nice_range(0, 82) == (0, 100, 20)  # not 0/20/41/62/82
    assert chart.nice_range(0, 1) == (0, 1, 1)
    assert chart.nice_range(0, 4321) == (0, 5000, 1000)
    low, high, step = chart.nice_range(-3, 41)
    assert low <= -3 and high >= 41 and str(step)[0] in "125" and low % step == 0 and (high - low) // step <= 5
    with app.app_context():
        t = f.br_tournament("chart-cup", preset="ffws")
        for n in range(3):
            f.lobby(t, [("A", 1, 5 + n), ("B", 2, 3), ("C", 3, 1), ("D", 4, 0)], key=f"g{n + 1}")
        db.session.commit()
    html = client.get("/tournaments/chart-cup/").get_data(as_text=True)
    chart = html[html.index('<svg class="chart__svg"') : html.index("</svg>")]
    labels = re.findall(r'class="chart__tick chart__xlabel[^"]*"[^>]*>([^<]+)</text>', chart)
    assert labels == ["start", "g1", "g2", "g3"]
    ticks = [int(v) for v in re.findall(r'dominant-baseline="middle">(-?\d+)</text>', chart)]
    assert ticks == list(range(0, ticks[-1] + 1, ticks[1] - ticks[0])) and ticks[1] - ticks[0] in (10, 20, 50)
