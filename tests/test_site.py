"""The course website: it builds strictly, and every page works in a real browser.

The site is built with ``mkdocs build --strict``, served on 127.0.0.1 and opened in
headless Chromium (Debian's package, driven by Playwright). Without Chromium these
tests are skipped, unless ``REQUIRE_BROWSER=1`` (CI sets it), where that fails.
Set ``SITE_SCREENSHOTS=DIR`` to keep screenshots of the lessons to look at.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    class QuietHandler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    thread.join()


def chromium_path() -> str | None:
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)


@pytest.fixture(scope="module")
def browser():
    required = os.environ.get("REQUIRE_BROWSER") == "1"
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        executable = None
    if executable is None:
        message = "needs Chromium and Playwright: apt-get install chromium; pip install -e '.[dev]'"
        if required:
            pytest.fail(message + " (REQUIRE_BROWSER=1)")
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def pages(site: Path) -> list[str]:
    """Every page of the site, as a path relative to its root."""
    return sorted(path.relative_to(site).as_posix() for path in site.rglob("index.html"))


def test_site_publishes_no_python_file(site: Path) -> None:
    """The scripts beside the pages (figures, hooks) are not part of the site."""
    assert not list(site.rglob("*.py"))


def test_404_page_works_under_a_sub_path(tmp_path: Path) -> None:
    """Published at https://host/course/, the 404 page loads its styles from /course/, not from the host's root."""
    pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
                           cwd=ROOT, capture_output=True, text=True,
                           env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "SITE_URL": "https://host.example/course/"})
    assert build.returncode == 0, build.stdout + build.stderr
    page = (tmp_path / "404.html").read_text()
    assert 'href="/course/assets/' in page and 'href="/assets/' not in page


def test_site_has_every_lesson_and_api_page(site: Path) -> None:
    names = pages(site)
    assert sum(name.startswith("lessons/") for name in names) == 7
    assert sum(name.startswith("api/") for name in names) >= 12
    assert {"index.html", "getting-started/index.html", "exercises/index.html", "instructors/index.html"} <= set(names)


def test_every_module_of_the_runtime_and_the_answers_has_an_api_page() -> None:
    """Each module of ``course/`` and ``solutions/`` is rendered on a page of the API reference, in its
    navigation and in its index's tables, so that a module added later is not left out of the site."""
    api = ROOT / "docs" / "api"
    rendered = {line.split()[1]: page.name for page in api.glob("*.md")
                for line in page.read_text().splitlines() if line.startswith("::: ")}
    modules = {f"{room}.{path.stem}" for room in ("course", "solutions") for path in (ROOT / room).glob("*.py")
               if not path.stem.startswith("__")}
    assert not modules - rendered.keys(), f"no API page renders {sorted(modules - rendered.keys())}"
    navigation, index = (ROOT / "mkdocs.yml").read_text(), (api / "index.md").read_text()
    assert not [page for page in rendered.values() if f"api/{page}" not in navigation], "an API page is not in the nav"
    assert not [module for module in modules if f"[`{module}`]" not in index], "a module is not in docs/api/index.md"


def watched_page(browser, host: str, harmless_abort: str | None = None, **options):
    """A new page (of a browser or a browser context) and the list of every problem it will show: console
    errors, page errors, failed requests, HTTP errors, and requests to anywhere but ``host``.

    A request whose URL contains ``harmless_abort`` may end aborted (``net::ERR_ABORTED``) without being one."""
    page = browser.new_page(**options)
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: (
        harmless_abort is not None and request.failure == "net::ERR_ABORTED" and harmless_abort in request.url)
        or problems.append(f"request failed: {request.url} ({request.failure})"))
    page.on("request", lambda request: request.url.startswith((host, "data:", "blob:"))
            or problems.append(f"request to another host: {request.url}"))
    page.on("response", lambda response: response.status >= 400 and problems.append(
        f"HTTP {response.status}: {response.url}"))
    return page, problems


def open_page(browser, url: str):
    """Load ``url``; return the page and every problem seen (see :func:`watched_page`)."""
    split = urlsplit(url)
    page, problems = watched_page(browser, f"{split.scheme}://{split.netloc}/")
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    return page, problems


def target_file(site: Path, base_url: str, href: str) -> tuple[Path, str]:
    url, fragment = urldefrag(href)
    path = urlsplit(url).path.removeprefix(urlsplit(base_url).path)
    file = site / path
    return (file / "index.html" if file.is_dir() else file), fragment


def test_every_page_loads_cleanly_and_its_links_resolve(site: Path, base_url: str, browser) -> None:
    """No console error, no failed request, every internal link and anchor points at something."""
    problems: dict[str, list[str]] = {}
    for name in pages(site):
        page, seen = open_page(browser, base_url + name.removesuffix("index.html"))
        links = page.eval_on_selector_all("a[href]", "anchors => anchors.map(a => a.href)")
        for href in links:
            if not href.startswith(base_url):
                continue
            file, fragment = target_file(site, base_url, href)
            if not file.is_file():
                seen.append(f"broken link: {href}")
            elif fragment and file.suffix == ".html" and f'id="{fragment}"' not in file.read_text():
                seen.append(f"missing anchor: {href}")
        images = page.eval_on_selector_all("img", "images => images.filter(i => !i.naturalWidth).map(i => i.src)")
        seen += [f"image not shown: {source}" for source in images]
        page.close()
        if seen:
            problems[name] = seen
    assert not problems, problems


def test_search_finds_softmax(base_url: str, browser) -> None:
    page, problems = open_page(browser, base_url)
    search = page.locator("input.md-search__input")
    search.click()
    search.press_sequentially("softmax")  # typed key by key: the search reacts to keystrokes
    results = page.locator("a.md-search-result__link")
    results.first.wait_for(state="attached", timeout=15_000)
    targets = results.evaluate_all("links => links.map(a => a.href)")
    assert any("03-loss-and-softmax" in target for target in targets), targets
    assert not problems, problems
    page.close()


def test_softmax_lesson_renders_math_figures_and_hints(base_url: str, browser, tmp_path: Path) -> None:
    page, problems = open_page(browser, base_url + "lessons/03-loss-and-softmax/")
    formulas = page.locator("article math")
    assert formulas.count() >= 3
    box = formulas.first.bounding_box()
    assert box is not None and box["height"] > 20, "a display formula is drawn as math, not as a line of text"
    assert page.locator("article img").count() >= 1
    assert page.locator("article .admonition.warning, article details.warning").count() >= 1
    assert page.locator("article button[data-md-type=copy]").count() >= 1, "code blocks have a copy button"
    assert page.locator("form[data-md-component=palette] input").count() == 2, "light and dark mode"
    shots = Path(os.environ.get("SITE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "lesson-03-softmax.png"), full_page=True)
    assert (shots / "lesson-03-softmax.png").stat().st_size > 10_000
    assert not problems, problems
    page.close()


def test_exercise_hints_appear_as_collapsed_tips(base_url: str, browser) -> None:
    page, problems = open_page(browser, base_url + "lessons/02-convolutions-and-pooling/")
    tips = page.locator("article details.tip")
    assert tips.count() >= 2
    assert tips.first.get_attribute("open") is None, "hints stay folded until asked for"
    tips.first.locator("summary").click()
    assert tips.first.get_attribute("open") is not None
    assert not problems, problems
    page.close()


def reading_pages(site: Path) -> list[str]:
    """The pages people read: the lessons and the guides (the API pages are generated)."""
    return [name for name in pages(site) if not name.startswith("api/")]


OVERFLOW = """(phone) => {
  const width = document.documentElement.clientWidth;
  const found = [];
  if (document.documentElement.scrollWidth > width) {
    found.push(`the page is ${document.documentElement.scrollWidth} px wide`);
  }
  for (const image of document.querySelectorAll("article img")) {
    const box = image.getBoundingClientRect();
    if (box.right > width + 1 || box.width > image.parentElement.clientWidth + 1) {
      found.push(`image ${image.src} is ${Math.round(box.width)} px wide`);
    }
  }
  for (const code of document.querySelectorAll("article pre > code")) {
    if (code.closest(".progress-sample")) {
      continue;  // a terminal's columns: kept, and scrolled inside if they must (checked below)
    }
    // On a phone a line wraps between tokens only: a run with no place to break would be cut at the right.
    if (code.scrollWidth > code.clientWidth + 1) {
      found.push(`code scrolls sideways: ${code.textContent.split("\\n")[0].slice(0, 60)}`);
    }
  }
  const tokens = 'article pre > code span:not(.w):not([class^="c"]):not([class^="s"])';  // not comments, strings
  for (const token of document.querySelectorAll(tokens)) {
    if (token.textContent.trim() && token.getClientRects().length > 1) {
      found.push(`a code token breaks across lines: ${token.textContent.slice(0, 40)}`);
    }
  }
  for (const code of document.querySelectorAll("article div:not(.language-text) > pre > code")) {
    for (const node of code.childNodes) {  // a word outside every token wraps at its hyphens: --own-|parts
      if (node.nodeType === Node.TEXT_NODE && node.textContent.trim()) {
        found.push(`a word outside a token: ${node.textContent.trim().slice(0, 40)}`);
      }
    }
  }
  for (const code of document.querySelectorAll("article .progress-sample pre > code")) {
    if (getComputedStyle(code).whiteSpace !== "pre") {
      found.push("the progress sample's columns wrap");
    }
  }
  return found;
}"""

# A figure's smallest type, shrunk to the phone's column, must stay this tall (CSS pixels, the font's size):
# the confusion matrix's 9-point counts, at 8.1 pixels, could not be read (issue 36, item 7).
MIN_TEXT_PIXELS = 9
# docs/make_figures.py notes in each figure it draws the size of its smallest type, in the image's pixels. A PNG
# without the note is a screenshot of a page (TensorBoard, the drawing pad): its text is taken to be 13 pixels,
# the drawing pad's titles of its steps.
SMALLEST_TEXT = "Smallest text"
UNNOTED_SMALLEST_TEXT = 13
FIGURES = ROOT / "lessons" / "figures"

SHOWN_IMAGES = """() => [...document.querySelectorAll("article img")]
  .filter(image => image.getClientRects().length)  // not one a phone hides for its variant
  .map(image => [image.currentSrc, image.naturalWidth, image.getBoundingClientRect().width,
                 Boolean(image.closest("a.figure-link"))])"""


def smallest_text(figure: Path) -> float:
    """The size in pixels of the smallest type in a figure's PNG, as noted in it when it was drawn."""
    with Image.open(figure) as image:
        return float(image.info.get(SMALLEST_TEXT, UNNOTED_SMALLEST_TEXT))


def shrunk_figures(page, site: Path, base_url: str) -> list[str]:
    """The figures a page shows with their smallest type under MIN_TEXT_PIXELS, or that do not open when tapped."""
    found = []
    for source, natural, shown, linked in page.evaluate(SHOWN_IMAGES):
        name = source.split("/")[-1]
        text = smallest_text(target_file(site, base_url, source)[0]) * shown / natural
        if text < MIN_TEXT_PIXELS:
            found.append(f"{name}: its smallest type is {text:.1f} px ({natural} px shown in {round(shown)})")
        if not linked:
            found.append(f"{name} does not open full size when tapped")
    return found


def test_every_figure_drawn_notes_its_smallest_type() -> None:
    """Only a screenshot goes without the note that the phone check reads: every PNG matplotlib drew has it."""
    unnoted = []
    for figure in sorted(FIGURES.glob("*.png")):
        with Image.open(figure) as image:
            if image.info.get("Software", "").startswith("Matplotlib") and SMALLEST_TEXT not in image.info:
                unnoted.append(figure.name)
    assert not unnoted, f"drawn without the note of their smallest type: {unnoted} (python docs/make_figures.py)"


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_no_code_block_or_image_overflows(site: Path, base_url: str, browser, width: int) -> None:
    """At 1280 px and on a 390 px phone: no page wider than the screen, no image wider than its column.
    At either width no code block scrolls sideways (on the phone long lines wrap, between tokens only), and no
    lesson figure is so shrunk that its text gets smaller than 9 px, and each opens full size."""
    problems: dict[str, list[str]] = {}
    context = browser.new_context(viewport={"width": width, "height": 900})
    for name in reading_pages(site):
        page = context.new_page()
        page.goto(base_url + name.removesuffix("index.html"), wait_until="load")
        found = page.evaluate(OVERFLOW, width < 600)
        if width == 390 and name.startswith("lessons/"):
            found += shrunk_figures(page, site, base_url)
        if found:
            problems[name] = found
        if width == 390 and name.startswith("lessons/0") and os.environ.get("SITE_SCREENSHOTS"):
            page.screenshot(path=str(Path(os.environ["SITE_SCREENSHOTS"]) / f"phone-{name.split('/')[1]}.png"),
                            full_page=True)
        page.close()
    context.close()
    assert not problems, problems


CONFUSION_TABLE = """() => {
  const table = document.querySelector("article table.confusion-table");
  const shown = element => Boolean(element && element.getClientRects().length);
  const counts = [...table.querySelectorAll("tbody tr")].map(row =>
    [...row.querySelectorAll("td")].map(cell => Number(cell.textContent) || 0));
  const wrap = table.closest(".md-typeset__scrollwrap");
  return {table: shown(table), figure: shown(document.querySelector("article img[src$='confusion_matrix.png']")),
          counts, fontSize: parseFloat(getComputedStyle(table.querySelector("td")).fontSize),
          scrolls: wrap.scrollWidth > wrap.clientWidth + 1, cue: getComputedStyle(wrap).backgroundImage,
          fits: table.getBoundingClientRect().right <= document.documentElement.clientWidth};
}"""


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_a_phone_reads_the_confusion_matrix_as_a_table(base_url: str, browser, width: int) -> None:
    """Lesson 6's confusion matrix: the figure on a desktop; on a phone, where its counts are too small to read,
    a table of the same run's counts in text at least 12 px, that shows its scroll cue if it must scroll."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(base_url + "lessons/06-inference-and-your-drawings/", wait_until="load")
    seen = page.evaluate(CONFUSION_TABLE)
    context.close()
    assert (seen["figure"], seen["table"]) == ((True, False) if width > 600 else (False, True))
    results = json.loads((FIGURES / "results.json").read_text())
    assert seen["counts"] == results["fast_recipe"]["confusion_matrix"]
    if width < 600:
        assert seen["fontSize"] >= 12, seen
        assert not seen["scrolls"] or "gradient" in seen["cue"], seen
        assert seen["fits"] or seen["scrolls"], seen


def test_each_lesson_links_its_notebook(site: Path, base_url: str, browser) -> None:
    page, problems = open_page(browser, base_url + "lessons/05-training-loop-and-tensorboard/")
    link = page.locator("article a[download]").first
    href = link.get_attribute("href")
    assert href.endswith("05-training-loop-and-tensorboard.ipynb"), href
    notebook = json.loads(target_file(site, base_url, link.evaluate("a => a.href"))[0].read_text())
    sources = ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert "%tensorboard --logdir runs" in "\n".join(sources)
    assert len(list((site / "lessons").glob("*.ipynb"))) == 7
    assert not problems, problems
    page.close()


def test_self_checks_are_folded_until_opened(base_url: str, browser) -> None:
    page, problems = open_page(browser, base_url + "lessons/04-backpropagation-and-optimisers/")
    # the lesson's own self-checks; an exercise's section has a question of its own
    questions = page.locator("xpath=//article//details[contains(@class, 'question')]"
                             "[preceding-sibling::h2[1][@id='check-yourself']]")
    assert 3 <= questions.count() <= 5
    assert questions.first.get_attribute("open") is None, "answers stay folded until asked for"
    questions.first.locator("summary").click()
    assert questions.first.get_attribute("open") is not None
    assert not problems, problems
    page.close()
