"""The teaching app in a real browser: Playwright driving Debian's Chromium against ``rupture-sim app``.

The server runs offline (no request leaves 127.0.0.1; the browser blocks any that tries). With
``UPDATE_SCREENSHOTS=1`` the tests also write the screenshots under ``docs/teaching/``.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

DOCS = Path(__file__).resolve().parents[1] / "docs" / "teaching"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip
STRATEGY = re.compile(r"\(S\d+, an? (immediate|exploratory|other)")
MARKER = re.compile(r"a (withdrawal|confrontation) marker, [WC]\d '")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _shot(page, name: str) -> None:
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / name))


@pytest.fixture(scope="module")
def server():
    # Compile the kernels first (cached on disk), so that no click waits for numba in the server.
    warm = subprocess.run([sys.executable, "-m", "simulation.tools.cli", "demo", "--sessions", "1"],
                          capture_output=True, text=True)  # fmt: skip
    assert warm.returncode == 0, warm.stderr
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "simulation.tools.cli", "app", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: run scripts/test.sh (it installs it with apt-get)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    outside = []

    def only_local(route):
        if route.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    missing = []  # e.g. solara's JavaScript and CSS, when no local copy matches and the server fails to fetch it

    def served(response) -> None:  # KaTeX: solara's Markdown asks for it (math) on every mount; no package ships it
        if response.status >= 400 and "/katex@" not in response.url:
            missing.append(response.url)

    page.on("response", served)
    page.goto(server)
    expect(page.get_by_text("Session player")).to_be_visible(timeout=90_000)
    yield page
    assert outside == [], f"the app asked for resources outside this machine: {outside[:3]}"
    assert missing == [], f"the app's server could not serve: {missing[:3]}"
    context.close()


def _where(page) -> str:
    return page.get_by_text(re.compile(r"· Session \d+")).first.inner_text()


def _press(page, name: str) -> None:
    """Click a button and wait until the player's position has moved."""
    before = _where(page)
    page.get_by_role("button", name=name).click()
    expect(page.get_by_text(re.compile(r"· Session \d+")).first).not_to_have_text(before)


def test_step_through_a_session_and_see_3rs_words(page):
    before = _where(page)
    start = time.perf_counter()
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_text(re.compile(r"· Session \d+"))).not_to_have_text(before)
    step_seconds = time.perf_counter() - start
    transcript = page.locator(".rs-transcript").first
    for _ in range(20):  # next marker until a strategy has been used
        _press(page, "Next marker")
        if STRATEGY.search(transcript.inner_text()):
            break
    text = transcript.inner_text()
    assert MARKER.search(text) and STRATEGY.search(text), text[-600:]
    plot = page.locator("img").first.get_attribute("src")
    for _ in range(11):  # to the end of the session: the plots gain a session
        _press(page, "Step")
    page.wait_for_timeout(500)
    assert page.locator("img").first.get_attribute("src") != plot, "the plots update"
    _press(page, "Back")
    _shot(page, "app-player.png")
    print(f"\nstep render: {step_seconds:.2f} s")


def test_fork_two_transcripts_identical_before_the_fork(page):
    for _ in range(3):
        _press(page, "Next marker")
    page.get_by_role("tab", name="What-if").click()
    page.get_by_role("button", name="Fork here").click()
    expect(page.get_by_text(re.compile(r"What if at \[\d+\.\d+\]"))).to_be_visible(timeout=20_000)
    columns = page.locator(".rs-transcript")
    expect(columns).to_have_count(2)
    original, forked = columns.nth(0), columns.nth(1)
    same_o = original.locator(".rs-same").all_inner_texts()
    same_f = forked.locator(".rs-same").all_inner_texts()
    assert same_o and same_o == same_f, "lines before the fork are identical"
    assert original.inner_text() != forked.inner_text(), "the courses differ after the fork"
    page.get_by_role("tab", name="Player").click()
    for _ in range(12):  # on to the end of the fork's session: the curves part
        _press(page, "Step")
    page.get_by_role("tab", name="What-if").click()
    expect(page.locator(".rs-transcript")).to_have_count(2)
    page.wait_for_timeout(500)
    _shot(page, "app-what-if.png")


def test_a_trainee_round_shows_the_spread_over_paired_futures(page):
    for _ in range(20):  # to a marker mid-session, where the alternatives have segments left to differ
        _press(page, "Next marker")
        if re.search(r"segment [0-6] ", _where(page)):
            break
    page.get_by_role("tab", name="Trainee").click()
    page.get_by_role("button", name="Decide").click()
    expect(page.get_by_text(re.compile(r"true salience \d of 5"))).to_be_visible(timeout=20_000)
    expect(
        page.get_by_text(re.compile(r"ranks \d+ of 11 by the mean alliance change .* over 30 futures"))
    ).to_be_visible()
    expect(page.get_by_text("The spread of consequences.")).to_be_visible()
    assert page.locator("table.rs-table tr").count() == 13, "every alternative and the simulated therapist"
    figure = page.locator("img").first  # the spread figure (only the open tab is rendered)
    assert figure.evaluate("img => img.naturalWidth") > 800
    medians = page.locator("table.rs-table td:nth-child(4)").all_inner_texts()
    assert len(set(medians)) > 1, f"the alternatives differ at a mid-session marker: {medians}"
    page.set_viewport_size({"width": 1400, "height": 1500})  # the screenshot shows the question and the figure
    page.get_by_text("What do you do?").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    _shot(page, "app-trainee.png")
    page.get_by_text("The spread in words").click()
    words = page.locator(".rs-spread li")
    expect(words).to_have_count(12)
    assert re.search(r"resolved in \d+/30 futures", words.first.inner_text())
    page.get_by_role("button", name="Run my choices as a policy").click()
    expect(page.get_by_text("aft_trained", exact=True)).to_be_visible(timeout=60_000)


def test_inject_a_therapist_error_by_keyboard_and_see_the_fork(page):
    transcript = page.locator(".rs-transcript").first
    for _ in range(20):  # to a marker the simulated therapist noticed calmly: the error changes most there
        _press(page, "Next marker")
        if transcript.inner_text().strip().splitlines()[-1].find("a resolution episode opens") >= 0:
            break
    for _ in range(40):  # Tab to the inject button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.innerText").strip().upper().startswith("INJECT A THERAPIST ERROR"):
            break
    else:
        pytest.fail("Inject a therapist error cannot be reached with Tab")
    page.keyboard.press("Enter")
    injected = page.locator(".rs-injected").first
    error = re.compile(r"Injected therapist error at \[\d+\.\d+\]: the therapist (reacts with hostility|lets)")
    expect(injected).to_contain_text(error, timeout=20_000)
    where = re.search(r"\[(\d+\.\d+)\]", injected.inner_text()).group(1)
    while not re.search(r"Session [4-9]", _where(page)):  # on, until the curves of both courses part
        _press(page, "Next marker")
    _shot(page, "app-inject-error.png")
    page.get_by_role("tab", name="What-if").click()
    expect(page.locator(".rs-transcript")).to_have_count(2)
    expect(page.get_by_text(f"What if at [{where}]")).to_be_visible()
    original, forked = page.locator(".rs-transcript").nth(0), page.locator(".rs-transcript").nth(1)
    assert original.inner_text() != forked.inner_text(), "the course with the error differs"


def test_main_controls_work_by_keyboard(page):
    before = _where(page)
    for _ in range(40):  # Tab to the Next marker button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.innerText").strip().upper().startswith("NEXT MARKER"):
            break
    else:
        pytest.fail("Next marker cannot be reached with Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(r"· Session \d+"))).not_to_have_text(before)
    assert outline != "none", "the focused control shows a visible focus"


def test_info_panel_explains_the_app(page):
    page.get_by_role("tab", name="Info").click()
    for heading in ("What it is", "How it works", "How to use it", "Things to notice", "Things to try",
                    "How to extend it", "References"):  # fmt: skip
        expect(page.get_by_text(heading, exact=True)).to_be_visible()
    _shot(page, "app-info.png")


def test_exported_page_opens_from_a_file_url(browser, tmp_path):
    out = tmp_path / "course.html"
    done = subprocess.run([sys.executable, "-m", "simulation.tools.cli", "export-session", "--out", str(out),
                           "--sessions", "4", "--fork", "3.2:invite"], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(out.as_uri())
    assert page.locator("img").first.evaluate("img => img.naturalWidth") > 500
    assert MARKER.search(page.inner_text("body")) and "What if: at [3.2]" in page.inner_text("body")
    _shot(page, "export-session.png")
    page.close()
