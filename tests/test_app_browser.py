"""The teaching app in a real browser: Playwright driving Debian's Chromium against ``rupture-sim app``.

Every control is clicked from every tab it lives on (step, next marker, back, fork, clear fork, a
second fork, inject, reset, the trainee's decide and policy, tab switches both ways, the projector
switch, a link to a moment), and no sequence may end in an error page. The server runs offline: no
request leaves 127.0.0.1 (the browser blocks any that tries) and none answers 4xx/5xx. The tests share
one browser tab (``AppTab``); each loads its URL afresh there, which gives it a new app session as a
new visitor gets, in half the time of a new browser context.

Timings: each interaction is timed from the click to the page showing its result (polled every
animation frame) and written to ``results/app_timings.json`` (one file per xdist worker) with the
load average; the teaching guide reports the medians. They are a benchmark log, never an assertion.
With ``UPDATE_SCREENSHOTS=1`` the tests also write the screenshots under ``docs/teaching/`` (1280x720).
"""

import csv
import io
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from tests.test_adversarial import run_cli

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "teaching"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip
VIEWPORT = {"width": 1280, "height": 720}  # a projector
STRATEGY = re.compile(r"\(S\d+, an? (immediate|exploratory|other)")
MARKER = re.compile(r"a (withdrawal|confrontation) marker, [WC]\d '")
ERROR_PAGE = re.compile(r"Traceback|RuntimeError|Error in render|Exception:")
TIMINGS: dict[str, list[float]] = defaultdict(list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _shot(page, name: str) -> None:
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / name))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    log = (tmp_path_factory.mktemp("app") / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "simulation.tools.cli", "app", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        # While the server starts, compile the kernels (cached on disk): no page or click waits for numba there.
        warm = subprocess.run([sys.executable, "-m", "simulation.tools.cli", "demo", "--sessions", "1"],
                              capture_output=True, text=True)  # fmt: skip
        assert warm.returncode == 0, warm.stderr
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, Path(log.name).read_text()
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: run scripts/test.sh (it installs it with apt-get)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module", autouse=True)
def timing_log():
    """Write the interactions' timings (click to result shown) with the machine's load, when the module ends."""
    yield
    if not TIMINGS:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    out = ROOT / "results" / (f"app_timings.{worker}.json" if worker else "app_timings.json")
    summary = {name: {"n": len(v), "median_s": round(statistics.median(v), 3), "max_s": round(max(v), 3),
                      "samples_s": [round(x, 3) for x in v]} for name, v in sorted(TIMINGS.items())}  # fmt: skip
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"interactions": summary, "load_average_1_5_15": os.getloadavg(),
                               "cpus": os.cpu_count(), "viewport": VIEWPORT}, indent=2))  # fmt: skip
    print(f"\napp timings (median s, click to result shown; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus):")
    for name, row in summary.items():
        print(f"  {name:<28} {row['median_s']:.2f} (n {row['n']}, max {row['max_s']:.2f})")


class AppTab:
    """One browser tab on the app, shared by the module's tests: a page load costs about 1 s, a new context 2-3 s.

    Each test opens its URL in it (``open``) as a visitor would type it: a page load starts a new Solara
    kernel, so the player, the open tab, the projector switch and every input start afresh.
    """

    def __init__(self, browser: Browser) -> None:
        self.context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        self.outside: list[str] = []
        self.failed: list[str] = []
        self.unchecked = False  # a page was loaded and not checked yet
        self.context.route("**/*", self._only_local)
        self.page = self.context.new_page()
        self.page.on("response", lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    def _only_local(self, route: Route) -> None:
        if route.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            return route.continue_()
        self.outside.append(route.request.url)
        return route.abort()

    def open(self, url: str) -> Page:
        """Check the page shown so far, then load ``url`` afresh at the projector's size."""
        self.check()
        if self.page.viewport_size != VIEWPORT:
            self.page.set_viewport_size(VIEWPORT)
        self.page.goto(url)
        self.unchecked = True
        expect(self.page.locator(".rs-now")).to_be_visible(timeout=120_000)
        return self.page

    def check(self) -> None:
        """No error page, and no request outside this machine or failed, since the last check (once per load:
        a page a failed test left behind fails that test only)."""
        if not self.unchecked:
            return
        self.unchecked = False
        outside, failed = self.outside[:], self.failed[:]
        self.outside.clear()
        self.failed.clear()
        body = self.page.inner_text("body")
        assert not ERROR_PAGE.search(body), f"an error page: {body[:800]}"
        assert outside == [], f"the app asked for resources outside this machine: {outside[:3]}"
        assert failed == [], f"requests that failed: {failed[:3]}"


@pytest.fixture(scope="module")
def shared_tab(browser: Browser):
    shared = AppTab(browser)
    yield shared
    shared.context.close()


@pytest.fixture()
def tab(shared_tab: AppTab):
    """The shared tab; what the test showed in it is checked when it ends."""
    yield shared_tab
    shared_tab.check()


@pytest.fixture()
def page(tab: AppTab, server: str) -> Page:
    return tab.open(server)


def _timed(page, name: str, action, condition: str, arg=None, timeout: float = 60_000) -> float:
    """Run ``action`` and wait (every animation frame) until the JS ``condition`` holds; log the seconds."""
    start = time.perf_counter()
    action()
    page.wait_for_function(condition, arg=arg, polling="raf", timeout=timeout)
    seconds = time.perf_counter() - start
    TIMINGS[name].append(seconds)
    return seconds


NOW = "() => document.querySelector('.rs-now')?.innerText"
MOVED = "(before) => { const el = document.querySelector('.rs-now'); return el && el.innerText !== before; }"


def _now(page) -> str:
    return page.evaluate(NOW)


def _press(page, name: str, timing: str | None = None) -> None:
    """Click a button and wait until the player's position has moved."""
    _timed(page, timing or name.lower(), lambda: page.get_by_role("button", name=name, exact=True).click(), MOVED,
           _now(page))  # fmt: skip


def _next_marker(page) -> None:
    _press(page, "Next marker ▶▶", "next marker")


def _tab(page, name: str, selector: str) -> None:
    """Switch tab and wait for its content."""
    _timed(page, f"tab to {name}", lambda: page.get_by_role("tab", name=name).click(),
           f"() => document.querySelector('{selector}')?.offsetParent != null")  # fmt: skip


def _marker_where(page) -> str:
    return re.search(r"Session (\d+), segment (\d+)", _now(page)).expand(r"\1.\2")


# --- the player ------------------------------------------------------------------------------------------
def test_step_through_a_session_and_see_3rs_words(page):
    _press(page, "Step")
    transcript = page.locator(".rs-player .rs-transcript")
    for _ in range(20):  # next marker until a strategy has been used
        _next_marker(page)
        if STRATEGY.search(transcript.inner_text()):
            break
    text = transcript.inner_text()
    assert MARKER.search(text) and STRATEGY.search(text), text[-600:]
    figure = page.locator(".rs-plots svg")
    plot = figure.inner_html()
    while "the session's end" not in _now(page):  # to the end of the session: the plots gain a session
        _press(page, "Step")
    page.wait_for_function("(old) => document.querySelector('.rs-plots svg').innerHTML !== old", arg=plot)
    assert figure.get_attribute("role") == "img" and "per session" in figure.get_attribute("aria-label")
    _press(page, "◀ Back", "back")
    _press(page, "Session start")
    assert re.search(r"segment 0 ", _now(page))
    _shot(page, "app-player.png")


def test_the_newest_transcript_line_is_in_view_at_1280x720(page):
    for _ in range(4):
        _next_marker(page)
    newest = page.locator(".rs-player .rs-transcript > div > *").last  # a reversed column: its last child is newest
    expect(newest).to_be_in_viewport(ratio=1)


def test_after_the_patient_drops_out_step_and_next_marker_say_why(tab, server):
    page = tab.open(server + "?chapter=hostile-vs-metacommunication&seed=3&sessions=12&at=4.10")
    expect(page.locator(".rs-now")).to_contain_text("the patient dropped out")
    page.get_by_role("button", name="Next marker ▶▶", exact=True).click()
    expect(page.locator(".rs-player .rs-note")).to_contain_text("dropped out after session 4")
    page.get_by_role("button", name="Step", exact=True).click()
    expect(page.locator(".rs-player .rs-note")).to_contain_text("no later session to step into")


# --- the what-if ------------------------------------------------------------------------------------------
FORKED = """(text) => document.querySelectorAll('.rs-whatif .rs-transcript').length === 2
    && document.body.innerText.includes(text)"""
CLEARED = "() => !!document.querySelector('.rs-nofork')"


def _choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the select labelled ``label`` (Vuetify's menu lies over its input: click through)."""
    page.get_by_role("button", name=re.compile(f"^{re.escape(label)} ")).click()
    page.get_by_role("option", name=option, exact=True).click()


def _to_a_calmly_noticed_marker(page) -> None:
    """Next marker until the simulated therapist opens an episode at it (an error there changes the most)."""
    transcript = page.locator(".rs-player .rs-transcript")
    for _ in range(20):
        _next_marker(page)
        if "a resolution episode opens" in transcript.inner_text().strip().splitlines()[-1]:
            return


def test_fork_clear_fork_and_a_second_fork(page):
    _to_a_calmly_noticed_marker(page)
    where = _marker_where(page)
    _tab(page, "What-if", ".rs-whatif")
    expect(page.get_by_role("button", name="Clear fork")).to_be_disabled()
    _timed(page, "fork here", lambda: page.get_by_role("button", name="Fork here").click(), FORKED,
           f"What if at [{where}] the therapist invites")  # fmt: skip
    columns = page.locator(".rs-whatif .rs-transcript")
    same_o = columns.nth(0).locator(".rs-same").all_inner_texts()
    same_f = columns.nth(1).locator(".rs-same").all_inner_texts()
    assert same_o and same_o == same_f, "lines before the fork are identical"
    _timed(page, "clear fork", lambda: page.get_by_role("button", name="Clear fork").click(), CLEARED)
    _choose(page, "The therapist's response instead", "hostile")
    _timed(page, "fork here", lambda: page.get_by_role("button", name="Fork here").click(), FORKED,
           f"What if at [{where}] the therapist reacts with hostility")  # fmt: skip
    assert columns.nth(0).inner_text() != columns.nth(1).inner_text(), "hostility differs from opening an episode"
    _tab(page, "Player", ".rs-player")
    for _ in range(12):  # on to the end of the fork's session: the curves part
        _press(page, "Step")
    dashed = page.locator(".rs-plots svg [stroke-dasharray]")
    assert dashed.count() >= 1 and page.locator(".rs-plots svg rect[width='7']").count() >= 1, "dashed, squares"
    _tab(page, "What-if", ".rs-whatif")
    expect(page.locator(".rs-whatif .rs-transcript")).to_have_count(2)


def test_the_class_plans_what_if_at_the_pinned_moment(tab, server):
    """Demonstration 2 of the class plan: the pinned link, invite at the hostile marker, on to a later session."""
    from simulation.teach.scenarios import scenario

    s = scenario("hostile-vs-metacommunication")
    link = f"?chapter={s.chapter}&seed={s.seed}&sessions={s.n_sessions}&at={s.marker}"
    page = tab.open(server + link)
    assert _marker_where(page) == s.marker
    expect(page.locator(".rs-player .rs-transcript")).to_contain_text("reacts with hostility")
    _tab(page, "What-if", ".rs-whatif")
    _choose(page, "The therapist's response instead", s.fork)
    _timed(page, "fork here", lambda: page.get_by_role("button", name="Fork here").click(), FORKED,
           f"What if at [{s.marker}] the therapist invites")  # fmt: skip
    _tab(page, "Player", ".rs-player")
    later = int(s.marker.split(".")[0]) + 4
    _choose(page, "Go to session", str(later))
    page.wait_for_function(MOVED, arg=f"Session {s.marker.split('.')[0]}")
    expect(page.locator(".rs-now")).to_contain_text(f"Session {later}, segment 0")
    _tab(page, "What-if", ".rs-whatif")
    expect(page.locator(".rs-whatif .rs-transcript")).to_have_count(2)
    alliance = page.locator(".rs-whatif .rs-course svg polyline")
    assert alliance.count() >= 4 and alliance.nth(0).get_attribute("points") != alliance.nth(1).get_attribute("points")
    _shot(page, "app-what-if.png")


def test_inject_a_therapist_error_by_keyboard_then_clear_it(page):
    _to_a_calmly_noticed_marker(page)
    for _ in range(40):  # Tab to the inject button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.innerText").strip().upper().startswith("INJECT A THERAPIST ERROR"):
            break
    else:
        pytest.fail("Inject a therapist error cannot be reached with Tab")
    _timed(
        page,
        "inject error",
        lambda: page.keyboard.press("Enter"),
        "() => !!document.querySelector('.rs-player .rs-injected')",
    )
    injected = page.locator(".rs-player .rs-injected")
    error = re.compile(r"Injected therapist error at \[\d+\.\d+\]: the therapist (reacts with hostility|lets)")
    expect(injected).to_contain_text(error)
    where = re.search(r"\[(\d+\.\d+)\]", injected.inner_text()).group(1)
    while int(_now(page).split()[1].rstrip(",")) < int(where.split(".")[0]) + 2:  # on until the curves part
        _next_marker(page)
    _shot(page, "app-inject-error.png")
    _tab(page, "What-if", ".rs-whatif")
    expect(page.locator(".rs-whatif .rs-transcript")).to_have_count(2)
    expect(page.get_by_text(f"What if at [{where}]")).to_be_visible()
    _timed(page, "clear fork", lambda: page.get_by_role("button", name="Clear fork").click(), CLEARED)
    expect(page.locator(".rs-injected")).to_have_count(0)  # on every tab


def test_tab_switches_both_ways_keep_the_place(page):
    for _ in range(2):
        _next_marker(page)
    where = _now(page)
    for name, selector in (("What-if", ".rs-whatif"), ("Trainee", ".rs-trainee"), ("Info", ".rs-info"),
                           ("Trainee", ".rs-trainee"), ("What-if", ".rs-whatif"), ("Player", ".rs-player"),
                           ("Info", ".rs-info"), ("Player", ".rs-player")):  # fmt: skip
        _tab(page, name, selector)
    assert _now(page) == where


def test_reset_with_another_chapter_opens_it_at_its_pinned_seed(page):
    from simulation.teach.scenarios import scenario

    pinned = scenario("quiet-withdrawal")
    _choose(page, "Chapter", "quiet-withdrawal")
    _timed(page, "reset", lambda: page.get_by_role("button", name="Reset").click(),
           "() => document.body.innerText.includes('A quiet withdrawal that goes unnoticed')")  # fmt: skip
    # the new chapter's player and sidebar are drawn after its opening text: seconds on a loaded machine
    expect(page.locator(".rs-player")).to_contain_text(f"seed {pinned.seed} (pinned)", timeout=30_000)
    expect(page.get_by_text(f"quiet-withdrawal, seed {pinned.seed}:")).to_be_visible(timeout=30_000)
    _next_marker(page)
    # the position line and the transcript are drawn in turn: wait for the marker's line, not only the move
    expect(page.locator(".rs-player .rs-transcript")).to_contain_text(MARKER, timeout=30_000)


# --- the trainee --------------------------------------------------------------------------------------------
DECIDED = "(where) => !!document.querySelector(`.rs-verdict[data-where='${where}']`)"


def _decide(page, response: str, reason: str) -> str:
    _choose(page, "Your response", response)
    page.get_by_label("Your reason, in one line (optional)").fill(reason)
    where = re.search(r"\[(\d+\.\d+)\] The patient shows", page.locator(".rs-trainee").inner_text()).group(1)
    _timed(page, "decide", lambda: page.get_by_role("button", name="Decide").click(), DECIDED, where)
    return where


def test_a_trainee_round_kept_across_tabs_with_verdicts_policy_and_debrief(page, tmp_path, browser):
    _tab(page, "Trainee", ".rs-trainee")
    _choose(page, "Difficulty", "1 salient (4-5)")
    _timed(page, "next marker at a level",
           lambda: page.get_by_role("button", name="Next marker at this level ▶▶").click(),
           "() => document.querySelector('.rs-trainee').innerText.includes('What do you do, and why?')")  # fmt: skip
    asked = page.locator(".rs-trainee").inner_text()
    assert "an observer would rate its salience" in asked and "true salience" not in asked
    first = _decide(page, "invite", "She sounds angry about the homework; name it.")
    expect(page.get_by_text(re.compile(r"true salience \d of 5"))).to_be_visible()
    verdict = page.locator(".rs-verdict").inner_text()
    assert re.search(
        r"(Better than|Worse than|No reliable difference from) letting it pass: better in \d+ of 30", verdict
    )
    expect(page.get_by_text("The rule, fixed before any answer:")).to_be_visible()
    assert "rank" not in page.locator(".rs-trainee").inner_text().lower()
    assert page.locator("table.rs-table").first.locator("tr").count() == 13, "every alternative and the simulated one"
    figure = page.locator(".rs-spread-figure svg")
    assert figure.get_attribute("role") == "img" and "invite (yours)" in figure.inner_html()
    page.set_viewport_size({"width": 1280, "height": 720})
    page.get_by_text("What do you do, and why?").scroll_into_view_if_needed()
    _shot(page, "app-trainee.png")
    page.get_by_text("The spread in words").click()
    words = page.locator(".rs-spread li")
    expect(words).to_have_count(12)
    assert re.search(r"resolved in \d+/30 futures", words.first.inner_text())
    # the round survives a trip to the other tabs
    _tab(page, "Player", ".rs-player")
    _next_marker(page)
    _tab(page, "Trainee", ".rs-trainee")
    expect(page.locator(".rs-round tr")).to_have_count(2)
    second = _decide(page, "clarify", "")
    rows = page.locator(".rs-round tr")
    expect(rows).to_have_count(3)
    assert (
        first in rows.nth(1).inner_text()
        and "name it" in rows.nth(1).inner_text()
        and second in rows.nth(2).inner_text()
    )
    _timed(page, "run policy", lambda: page.get_by_role("button", name="Run my answers as a policy").click(),
           "() => !!document.querySelector('.rs-policy')")  # fmt: skip
    policy = page.locator(".rs-policy").inner_text()
    assert "baseline: the experienced therapist's own answers" in policy and "vs baseline (paired, 95% CI)" in policy
    # the debrief sheet: a self-contained page that opens with no request at all, and its CSV
    with page.expect_download() as download:
        page.get_by_role("button", name="Debrief sheet (HTML)").click()
    sheet = tmp_path / "debrief.html"
    download.value.save_as(sheet)
    with page.expect_download() as download:
        page.get_by_role("button", name="Debrief as CSV").click()
    rows_csv = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [r["marker at"] for r in rows_csv] == [first, second] and rows_csv[0]["answer"] == "invite"
    offline = browser.new_context(viewport=VIEWPORT)
    requests = []
    offline.on("request", lambda r: requests.append(r.url))
    sheet_page = offline.new_page()
    sheet_page.goto(sheet.as_uri())
    text = sheet_page.inner_text("body")
    assert "She sounds angry about the homework; name it." in text and "The verdict rule." in text
    assert "Your answers as a policy" in text
    assert requests == [sheet.as_uri()], f"the debrief sheet asked for more than itself: {requests}"
    offline.close()


# --- projector mode, links, accessibility -------------------------------------------------------------------
def test_projector_mode_by_switch_and_by_url(tab, server):
    page = tab.open(server)
    small = page.locator(".rs-player .rs-transcript").evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    expect(page.get_by_text("Play Interval (ms)")).to_be_visible()
    _timed(
        page,
        "projector switch",
        lambda: page.locator("label", has_text="Projector mode").click(),
        "() => !!Array.from(document.querySelectorAll('style')).find(s => s.innerText.includes('100vh - 470px'))",
    )
    expect(page.get_by_text("Play Interval (ms)")).to_be_hidden()
    expect(page.get_by_text("Use Threads")).to_be_hidden()
    expect(page.get_by_role("button", name="Reset")).to_be_visible()
    large = page.locator(".rs-player .rs-transcript").evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert large >= 1.3 * small and large >= 24, (small, large)
    for _ in range(3):
        _next_marker(page)
    expect(page.locator(".rs-player .rs-transcript > div > *").last).to_be_in_viewport(ratio=1)
    _shot(page, "app-projector.png")
    page = tab.open(server + "?projector=1")
    expect(page.get_by_label("Projector mode")).to_be_checked()
    expect(page.get_by_text("Play Interval (ms)")).to_be_hidden()


def test_a_link_to_a_moment_opens_there(tab, server):
    page = tab.open(server)
    for _ in range(3):
        _next_marker(page)
    at = _marker_where(page)
    page.wait_for_function("(at) => document.querySelector('.rs-link').getAttribute('href').endsWith('at=' + at)",
                           arg=at)  # fmt: skip
    where, transcript = _now(page), page.locator(".rs-player .rs-transcript").inner_text()
    href = page.get_by_role("link", name="Link to this moment").get_attribute("href")
    assert re.fullmatch(r"\?chapter=hostile-vs-metacommunication&seed=\d+&sessions=12&at=\d+\.\d+", href), href
    other = tab.open(server + href)
    assert _now(other) == where and other.locator(".rs-player .rs-transcript").inner_text() == transcript
    bad = tab.open(server + "?chapter=nonsense&seed=7&at=x")
    note = bad.locator(".rs-player .rs-note").inner_text()
    assert "chapter must be one of quiet-withdrawal" in note and "at must be SESSION.SEGMENT" in note
    assert "seed 7" in bad.locator(".rs-player").inner_text()


def test_accessibility_lang_title_names_text_alternatives_slider_values(page):
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.title().startswith("rupture-sim teaching")
    expect(page.get_by_role("button", name="Show or hide the sidebar")).to_have_count(1)
    unnamed = page.evaluate("""() => Array.from(document.querySelectorAll('button')).filter(b =>
        !(b.getAttribute('aria-label') || b.innerText.trim())).length""")
    assert unnamed == 0, f"{unnamed} buttons have no name"
    page.get_by_text("Custom patient and therapist (sliders)", exact=True).click()
    severity = page.locator(".v-input", has_text="Severity").locator(".v-slider__thumb-label")
    expect(severity).to_be_visible()  # the value on every slider of the model's parameters
    expect(severity).to_have_text("0.7")
    assert page.locator(".rs-plots svg title").text_content().startswith("Alliance, symptoms")
    contrast = page.evaluate("""() => { const el = document.createElement('div'); el.className = 'rs-same';
        document.body.appendChild(el); const c = getComputedStyle(el).color; el.remove(); return c; }""")
    rgb = [int(x) for x in re.findall(r"\d+", contrast)[:3]]
    lum = [((v / 255) / 12.92 if v / 255 <= 0.03928 else ((v / 255 + 0.055) / 1.055) ** 2.4) for v in rgb]
    ratio = 1.05 / (0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2] + 0.05)
    assert ratio >= 4.5, f"identical lines at {ratio:.2f}:1 on white"


def test_main_controls_work_by_keyboard(page):
    before = _now(page)
    for _ in range(40):  # Tab to the Next marker button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.innerText").strip().upper().startswith("NEXT MARKER"):
            break
    else:
        pytest.fail("Next marker cannot be reached with Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    page.keyboard.press("Enter")
    page.wait_for_function(MOVED, arg=before)
    assert outline != "none", "the focused control shows a visible focus"


def test_info_panel_explains_the_app(page):
    _tab(page, "Info", ".rs-info")
    for heading in ("What it is", "How it works", "How to use it", "Things to notice", "Things to try",
                    "How to extend it", "References"):  # fmt: skip
        expect(page.get_by_text(heading, exact=True)).to_be_visible()
    expect(page.get_by_text("At the pinned seed:")).to_be_visible()
    _shot(page, "app-info.png")


def test_exported_page_opens_from_a_file_url(browser, tmp_path):
    out = tmp_path / "course.html"
    # in this process, as test_teaching runs the command: a new interpreter would only add its imports
    code, _, err = run_cli(["export-session", "--out", str(out), "--sessions", "4", "--fork", "3.2:invite"])
    assert code == 0, err
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(out.as_uri())
    assert page.locator("img").first.evaluate("img => img.naturalWidth") > 500
    assert MARKER.search(page.inner_text("body")) and "What if: at [3.2]" in page.inner_text("body")
    _shot(page, "export-session.png")
    page.close()
