"""Public pages: tournament list, live standings, series, final results, htmx fragments."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.services.standings.leaderboard import LeaderboardService as LS
from tests import factories as f

HX = {"HX-Request": "true"}


def page(client, url, headers=None, status=200):
    response = client.get(url, headers=headers or {})
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response, response.get_data(as_text=True)


def positions(html, *needles):
    """Index of each needle in html (all must be present)."""
    found = [html.find(n) for n in needles]
    assert all(i >= 0 for i in found), list(zip(needles, found, strict=True))
    return found


def rename(tournament, key, name):
    f.participant(tournament, key).name = name


def standings_rows(html):
    """Team names of the standings table, top to bottom."""
    table = html[html.index('class="table standings"') :]
    table = table[: table.index("</table>")]
    return re.findall(r'<span class="team-name">([^<]*)</span>', table)


@pytest.fixture
def br_cup(app):
    """Free Fire cup: two stages, an adjustment, and a team whose name needs escaping."""
    with app.app_context():
        t = f.br_tournament("br-cup", preset="ffws")
        rename(t, "A", "Echo <Team>")
        f.lobby(t, [("A", 1, 5), ("B", 2, 3), ("C", 3, 1), ("D", 4, 0)], stage="Day 1")  # A 17, B 12, C 9, D 7
        f.lobby(t, [("D", 1, 9), ("C", 2, 2), ("B", 3, 0), ("A", 4, 0)], stage="Day 2")  # D 21, C 11, B 8, A 7
        f.lobby(t, [], stage="Day 2", state="scheduled", key="final")
        f.adjust(t, "C", -3, "Late to lobby in match 2")
        db.session.commit()
    # Totals: A 24, D 28, B 20, C 20 - 3 = 17.
    return "br-cup"


# ------------------------------------------------------------------------------ index


def test_index_groups_tournaments_by_status(app, client):
    with app.app_context():
        f.br_tournament("live-ff", status="live")
        f.br_tournament("signup-pubg", game="pubgm", status="registration")
        f.series_tournament("draft-val", status="draft")
        f.series_tournament("done-cs", game="cs2", status="completed")
        db.session.commit()
    _, html = page(client, "/")
    live, upcoming, completed = positions(html, 'id="live-heading"', 'id="upcoming-heading"', 'id="completed-heading"')
    for slug, name, game in (
        ("live-ff", "Live Ff", "Free Fire"),
        ("signup-pubg", "Signup Pubg", "PUBG Mobile"),
        ("done-cs", "Done Cs", "Counter-Strike 2"),
    ):
        assert f'href="/tournaments/{slug}/">{name}</a>' in html
        assert game in html
    # A draft is private to staff (issue 11): not listed for visitors.
    assert "Draft Val" not in html and "draft-val" not in html and "Valorant" not in html
    (live_ff,) = positions(html, "Live Ff")
    (signup,) = positions(html, "Signup Pubg")
    (done,) = positions(html, "Done Cs")
    assert live < live_ff < upcoming < signup < completed < done
    assert '<span class="badge badge--registration">Registration</span>' in html
    assert re.search(r'href="/"\s+aria-current="page">Tournaments</a>', html)


def test_index_without_tournaments(client):
    _, html = page(client, "/")
    assert "No tournament is live right now." in html
    assert "No completed tournaments yet." in html


# ------------------------------------------------------------------------------ battle royale


def test_br_page_shows_standings_in_order_with_escaped_names(client, br_cup):
    response, html = page(client, "/tournaments/br-cup/")
    assert "HX-Request" in response.headers["Vary"]
    assert "<h1>Br Cup</h1>" in html
    assert "Free Fire" in html and "badge--live" in html and "FFWS" in html
    assert standings_rows(html) == ["Team D", "Echo &lt;Team&gt;", "Team B", "Team C"]
    assert "Echo <Team>" not in html
    # Columns: rank, movement, team, total, placement and kill points, adjustments, kills, Booyahs
    # for Free Fire, matches, gap; the ones that may hide on a phone are marked `opt`.
    for header in ("Total", "Kills"):
        assert f'<th scope="col" class="num">{header}</th>' in html
    for header in ("Placement pts", "Kill pts", "Adj.", "Booyahs", "Matches", "Gap"):
        assert f'<th scope="col" class="num opt">{header}</th>' in html
    assert "Movement since the previous match" in html
    assert "−3" in html  # C's penalty, with a real minus sign
    assert "<caption>" in html
    # The live block polls its own address every second, carrying its ETag for the poll.
    assert re.search(
        r'<div id="standings" class="live-block" data-etag="W/&#34;t[0-9.]+-[0-9a-f]+&#34;"\s+'
        r'hx-get="/tournaments/br-cup/" hx-trigger="every 1s" hx-swap="outerHTML">',
        html,
    )
    # Matches: key, stage, state, completion time.
    assert '<th scope="row">m1</th>' in html and '<th scope="row">final</th>' in html
    assert 'badge--scheduled">Scheduled</span>' in html
    assert '<time datetime="2025-11-13T14:00:00Z">' in html
    assert "vendor/htmx-2.0.11.min.js" in html


def test_br_page_labels_wwcd_for_pubg(app, client):
    with app.app_context():
        t = f.br_tournament("pubg-cup", game="pubgm")
        f.lobby(t, [("A", 1, 2), ("B", 2, 1)])
        db.session.commit()
    _, html = page(client, "/tournaments/pubg-cup/")
    assert '<th scope="col" class="num opt">WWCD</th>' in html
    assert "Booyahs" not in html
    assert "PMGC" in html  # the default preset for PUBG Mobile


def test_br_page_explains_tie_breaks(app, client):
    with app.app_context():
        t = f.br_tournament("ties", preset="ffws", teams=("A", "B", "C", "D", "E"))
        # A, B, C, D all on 12 points: A by its Booyah, then D, C, B by kills. E on 0.
        f.lobby(t, [("A", 1, 0), ("B", 2, 3), ("C", 4, 5), ("D", 5, 6), ("E", 12, 0)])
        db.session.commit()
    _, html = page(client, "/tournaments/ties/")
    assert standings_rows(html) == ["Team A", "Team D", "Team C", "Team B", "Team E"]
    # Written out in the row, visible without hover: who is level, on what, and the values.
    notes = re.findall(r'<span class="tie-note">([^<]*)</span>', html)
    assert notes == [
        "Level on 12 pts with Team A, who are ahead on Booyahs, 1 vs 0.",
        "Level on 12 pts with Team D, who are ahead on total kills, 6 vs 5.",
        "Level on 12 pts with Team C, who are ahead on total kills, 5 vs 3.",
    ]
    assert "title=" not in html.split('class="table standings"')[1].split("</table>")[0]


def test_br_page_marks_shared_ranks(app, client):
    with app.app_context():
        t = f.br_tournament("shared", preset="deltacrown")  # kills, best placement, last finish: all equal
        f.lobby(t, [("A", 2, 1), ("B", 3, 2)])
        f.lobby(t, [("B", 2, 1), ("A", 3, 2)])
        db.session.commit()
    _, html = page(client, "/tournaments/shared/")
    # Teams without a result yet follow at 0, sharing the last rank (app.services.standings.shown).
    assert standings_rows(html) == ["Team A", "Team B", "Team C", "Team D"]
    assert html.count('<td class="num rank">1') == 2
    assert html.count('<td class="num rank">3') == 2
    assert "Level on 19 pts with Team A and on every tiebreaker: they share rank 1." in html
    assert "Level on 0 pts" not in html


def test_stage_filter(client, br_cup):
    _, html = page(client, "/tournaments/br-cup/?stage=Day%201")
    assert standings_rows(html) == ["Echo &lt;Team&gt;", "Team B", "Team C", "Team D"]
    assert "Standings for Day 1" in html
    assert "point adjustments count only in the full standings" in html
    # The filter lists every stage, marks the chosen one, and keeps "all stages" one click away.
    assert re.search(r'href="/tournaments/br-cup/\?stage=Day\+1"\s+aria-current="page">Day 1</a>', html)
    assert re.search(r'href="/tournaments/br-cup/\?stage=Day\+2"\s+>Day 2</a>', html)
    assert re.search(r'href="/tournaments/br-cup/"\s+>All stages</a>', html)
    # Only this stage's matches are listed.
    assert '<th scope="row">m1</th>' in html
    assert '<th scope="row">m2</th>' not in html

    _, html = page(client, "/tournaments/br-cup/?stage=Day+2")
    assert standings_rows(html) == ["Team D", "Team C", "Team B", "Echo &lt;Team&gt;"]

    _, html = page(client, "/tournaments/br-cup/?stage=")  # empty means every stage
    assert standings_rows(html) == ["Team D", "Echo &lt;Team&gt;", "Team B", "Team C"]


@pytest.mark.parametrize("stage", ["Nope", "day 1", "x" * 500, "%27%3B--"])
def test_unknown_stage_is_a_404_page_with_a_way_back(client, br_cup, stage):
    _, html = page(client, f"/tournaments/br-cup/?stage={stage}", status=404)
    assert "There is no stage called" in html
    assert 'class="table standings"' not in html
    assert "Show all stages" in html


def test_br_page_before_any_completed_match(app, client):
    with app.app_context():
        t = f.br_tournament("fresh", status="registration")
        f.lobby(t, [], state="scheduled", stage="Day 1")
        db.session.commit()
    _, html = page(client, "/tournaments/fresh/")
    # Before any result the registered teams are listed at 0, in name order, all sharing rank 1.
    assert standings_rows(html) == ["Team A", "Team B", "Team C", "Team D"]
    assert "Registered teams, before the first result" in html
    assert html.count('<td class="num rank">1</td>') == 4
    assert "move--up" not in html and "move--down" not in html
    assert "every 1s" in html  # an override or a first result must show within 2 s in every status


# ------------------------------------------------------------------------------ htmx fragments


def test_htmx_request_gets_only_the_standings_fragment(client, br_cup):
    response, html = page(client, "/tournaments/br-cup/?stage=Day%202", headers=HX)
    assert "HX-Request" in response.headers["Vary"]
    assert "<html" not in html and "<nav" not in html and "<header" not in html
    assert html.strip().startswith('<div id="standings"')
    assert standings_rows(html) == ["Team D", "Team C", "Team B", "Echo &lt;Team&gt;"]
    # The swapped-in fragment keeps polling the same address (outerHTML swap).
    assert 'hx-get="/tournaments/br-cup/?stage=Day%202" hx-trigger="every 1s" hx-swap="outerHTML"' in html
    assert html.count('id="standings"') == 1


def test_fragment_is_the_same_markup_as_the_page_block(client, br_cup):
    """One source: the fragment is exactly the block inside the full page."""
    _, full = page(client, "/tournaments/br-cup/")
    _, fragment = page(client, "/tournaments/br-cup/", headers=HX)
    strip_time = re.compile(r"<time datetime=\"[^\"]+\">[^<]+</time> · updates live")
    assert strip_time.sub("", fragment.strip()) in strip_time.sub("", full)


@pytest.mark.parametrize(
    "headers",
    [
        {"HX-Request": "true", "HX-Boosted": "true"},
        {"HX-Request": "true", "HX-History-Restore-Request": "true"},
        {"HX-Request": "false"},
    ],
)
def test_boosted_and_history_restore_get_the_full_page(client, br_cup, headers):
    response, html = page(client, "/tournaments/br-cup/", headers=headers)
    assert "HX-Request" in response.headers["Vary"]
    assert html.lstrip().startswith("<!doctype html>")
    assert '<nav aria-label="Main">' in html and "<h1>Br Cup</h1>" in html


def test_htmx_fragment_for_an_unknown_stage_is_a_404(client, br_cup):
    # htmx swaps nothing on a 4xx, so the poll leaves the page as it was.
    _, html = page(client, "/tournaments/br-cup/?stage=Nope", headers=HX, status=404)
    assert "There is no stage called" in html


# ------------------------------------------------------------------------------ series


@pytest.fixture
def val_cup(app):
    with app.app_context():
        t = f.series_tournament("val-cup", teams=("A", "B", "C", "D"))
        rename(t, "B", "Blue <Ravens>")
        done = f.series(t, "qf1", "A", "B", 3)
        f.game(done, "A", (13, 7))
        f.game(done, "B", (11, 13))
        f.game(done, "A", (13, 9))
        live = f.series(t, "qf2", "C", "D", 3)
        f.game(live, "D", (5, 13))
        f.game(live, None, (7, 9), state="live")
        draw = f.series(t, "show", "A", "C", 2)
        f.game(draw, "A", (13, 3))
        f.game(draw, "C", (2, 13))
        f.series(t, "gf", "A", "D", 5, forfeit_winner="D")
        db.session.commit()
    return "val-cup"


def test_series_tournament_lists_series(client, val_cup):
    response, html = page(client, "/tournaments/val-cup/")
    assert "HX-Request" in response.headers["Vary"]
    assert "Valorant" in html
    assert "Scoring" not in html  # presets are for battle royale only
    qf1, qf2, show, gf = positions(
        html,
        'href="/tournaments/val-cup/series/qf1/">QF1</a>',
        'href="/tournaments/val-cup/series/qf2/">QF2</a>',
        'href="/tournaments/val-cup/series/show/">SHOW</a>',
        'href="/tournaments/val-cup/series/gf/">GF</a>',
    )
    assert qf1 < qf2 < show < gf
    rows = html[qf1:].split("</tr>")
    assert "Team A" in rows[0] and "Blue &lt;Ravens&gt;" in rows[0]
    assert "2&thinsp;–&thinsp;1" in rows[0] and ">Completed</span>" in rows[0] and "<td>Team A</td>" in rows[0]
    assert "0&thinsp;–&thinsp;1" in rows[1] and ">In progress</span>" in rows[1] and "<td>—</td>" in rows[1]
    assert "1&thinsp;–&thinsp;1" in rows[2] and ">Draw</span>" in rows[2]
    assert "0&thinsp;–&thinsp;0" in rows[3] and ">Forfeit</span>" in rows[3] and "<td>Team D</td>" in rows[3]
    assert '<td class="num">5</td>' in rows[3]  # best of
    assert "Blue <Ravens>" not in html
    assert 'hx-trigger="every 1s"' in html


def test_series_list_fragment(client, val_cup):
    response, html = page(client, "/tournaments/val-cup/", headers=HX)
    assert "HX-Request" in response.headers["Vary"]
    assert "<html" not in html and "<nav" not in html
    assert html.strip().startswith('<div id="series-list"')
    assert 'hx-get="/tournaments/val-cup/"' in html
    assert ">Forfeit</span>" in html


def test_series_page_shows_games_and_scores(client, val_cup):
    response, html = page(client, "/tournaments/val-cup/series/qf1/")
    assert "HX-Request" in response.headers["Vary"]
    assert "<h1>QF1</h1>" in html
    assert 'href="/tournaments/val-cup/">Val Cup</a>' in html
    assert ">Completed</span>" in html
    assert "Best of 3 · first to 2 wins · Team A wins the series" in html
    assert "2&thinsp;–&thinsp;1" in html
    assert '<th scope="col" class="num">Blue &lt;Ravens&gt;</th>' in html
    games = html[html.index('id="games-heading"') :]
    for number, winner, a, b in ((1, "Team A", 13, 7), (2, "Blue &lt;Ravens&gt;", 11, 13), (3, "Team A", 13, 9)):
        row = games[games.index(f'<th scope="row">Game {number}</th>') :].split("</tr>")[0]
        assert f"<td>{winner}</td>" in row
        assert f'<td class="num">{a}</td>' in row and f'<td class="num">{b}</td>' in row
    assert 'hx-get="/tournaments/val-cup/series/qf1/" hx-trigger="every 1s" hx-swap="outerHTML"' in html


def test_series_page_in_progress_and_forfeit(client, val_cup):
    _, html = page(client, "/tournaments/val-cup/series/qf2/")
    assert ">In progress</span>" in html
    assert "badge--live" in html and '<td class="num">7</td>' in html  # the live game and its score
    _, html = page(client, "/tournaments/val-cup/series/gf/")
    assert ">Forfeit</span>" in html and "Team D wins by forfeit" in html
    assert "No games played yet." in html
    _, html = page(client, "/tournaments/val-cup/series/show/")
    assert ">Draw</span>" in html and "the series is drawn" in html


def test_series_page_fragment(client, val_cup):
    response, html = page(client, "/tournaments/val-cup/series/qf1/", headers=HX)
    assert "HX-Request" in response.headers["Vary"]
    assert "<html" not in html and "<nav" not in html
    assert html.strip().startswith('<div id="series"')
    assert "2&thinsp;–&thinsp;1" in html


# ------------------------------------------------------------------------------ final results


def test_completed_br_tournament_shows_results_with_override(app, client, br_cup, staff_user):
    with app.app_context():
        LS.complete_tournament("br-cup")
        LS.override_placement("br-cup", "C", 1, "Opponent used an unregistered player", staff_user)
    _, html = page(client, "/tournaments/br-cup/")
    assert "badge--completed" in html
    # One table: the final results with the override applied, in the live standings block.
    assert 'id="standings-heading">Final results</h2>' in html
    assert 'id="results-heading"' not in html and "Standings before overrides" not in html
    assert standings_rows(html) == ["Team C", "Team D", "Echo &lt;Team&gt;", "Team B"]
    results = html[html.index('id="standings"') :]
    assert results.count('<span class="badge badge--override">Override</span>') == 1
    assert "Opponent used an unregistered player" in results
    assert "computed rank 4" in results
    assert "▲" not in results and "▼" not in results and "move-col" not in results
    assert "every 1s" in html  # an override must reach open pages within 2 s


def test_completed_series_tournament_shows_results(app, client, val_cup):
    with app.app_context():
        t = f.series_tournament("val-done", teams=("A", "B"))
        s = f.series(t, "gf", "A", "B", 1)
        f.game(s, "B", (9, 13))
        db.session.commit()
        LS.complete_tournament("val-done")
    _, html = page(client, "/tournaments/val-done/")
    assert "Final results" in html and "Series won" in html
    results = html[html.index('id="results-heading"') : html.index('id="series-heading"')]
    assert results.index("Team B") < results.index("Team A")
    assert "Override" not in results


# ------------------------------------------------------------------------------ not found and assets


@pytest.mark.parametrize(
    "url",
    [
        "/tournaments/no-such-cup/",
        "/tournaments/val-cup/series/nope/",
        "/tournaments/no-such-cup/series/gf/",
        "/tournaments/br-cup/series/m1/",  # a battle-royale lobby is not a series
        "/tournaments/1/",  # tournaments are addressed by slug on public pages
    ],
)
def test_unknown_pages_are_404_html(client, br_cup, val_cup, url):
    response, html = page(client, url, status=404)
    assert response.mimetype == "text/html"
    assert html.lstrip().startswith("<!doctype html>")
    assert "Page not found" in html and "See all tournaments" in html
    assert "Traceback" not in html


def test_htmx_poll_of_a_removed_tournament_is_404(client):
    response, _ = page(client, "/tournaments/gone/", headers=HX, status=404)
    assert response.mimetype == "text/html"


def test_vendored_htmx_is_version_2(client):
    response = client.get("/static/vendor/htmx-2.0.11.min.js")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    response.close()
    assert 'version:"2.0.11"' in body
    assert "htmx" in body and len(body) > 40_000


def test_layout_loads_htmx_locally(client):
    _, html = page(client, "/")
    assert re.search(r'<script src="/static/vendor/htmx-2\.0\.11\.min\.js" defer></script>', html)
    assert "unpkg.com" not in html and "cdn" not in html.lower()


@pytest.mark.parametrize(
    "url", ["/tournaments/%00/", "/tournaments/val-cup/series/%00/", "/tournaments/br-cup/?stage=%00"]
)
def test_nul_characters_are_a_bad_request_page(client, br_cup, val_cup, url):
    response = client.get(url)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "NUL" in response.get_data(as_text=True)
