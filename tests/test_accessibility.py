"""Accessibility (WCAG 2.1 AA): every page of the website, the Look inside page and the drawing pad.

axe-core runs in headless Chromium on every page of the built site, in the light and the dark
scheme, 1280 and 390 px wide, and on the drawing pad: no violation it rates serious or critical.
Then Look inside and the drawing pad are used with the keyboard alone, and read a digit.
axe-core comes from npm (``.ci/run`` installs it into ``.ci/node``); without it, or without
Chromium, these tests are skipped, unless ``REQUIRE_BROWSER=1`` (CI sets it), where that fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from course.checkpoint import save_checkpoint
from course.data import load_split
from tests.accessibility_browser import AXE_JS, SERIOUS, axe_violations, check_site
from tests.drawing_pad_browser import answer, open_pad, running_pad
from tests.look_inside_browser import open_look_inside
from tests.test_site import base_url, browser, pages, reading_pages  # noqa: F401  (site and Chromium fixtures)

MAX_TABS = 400  # key presses to reach a control: the site's navigation comes first


@pytest.fixture(scope="module")
def axe() -> Path:
    if not AXE_JS.is_file():
        message = f"needs axe-core at {AXE_JS}: npm install --prefix .ci/node axe-core (as .ci/run does)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (REQUIRE_BROWSER=1)")
        pytest.skip(message)
    return AXE_JS


def serious(violations: list[dict]) -> list[str]:
    """The serious and critical ones, each as rule, node and what is wrong, to read in a failure."""
    return [f"{v['rule']} ({v['impact']}) at {v['target']}: {v['summary']}" for v in violations
            if v["impact"] in SERIOUS]


def assert_no_serious_violation(browser, base_url: str, names: list[str]) -> None:
    found = check_site(browser, base_url, names)
    problems = {f"{scheme} {width}px {name}": serious(violations)
                for (scheme, width), by_page in found.items() for name, violations in by_page.items()}
    assert not {page: shown for page, shown in problems.items() if shown}


def test_every_page_people_read_passes_axe_in_both_schemes_at_both_widths(site: Path, base_url: str, browser,
                                                                          axe) -> None:
    """The lessons and guides, light and dark, 1280 and 390 px."""
    assert_no_serious_violation(browser, base_url, reading_pages(site))


@pytest.mark.slow
def test_every_api_page_passes_axe_in_both_schemes_at_both_widths(site: Path, base_url: str, browser, axe) -> None:
    """The generated API pages, built from the same templates and styles: two minutes, so with the slow tests."""
    assert_no_serious_violation(browser, base_url, sorted(set(pages(site)) - set(reading_pages(site))))


def tab_to(page, selector: str) -> None:
    """Press Tab until the focus is on (or inside) ``selector``, as a keyboard user would."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("s => !!document.activeElement?.closest(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def test_look_inside_reads_test_digits_with_the_keyboard_alone(base_url: str, browser, axe) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page, problems = open_look_inside(context, base_url)
    page.wait_for_function("() => document.querySelectorAll('#li-sample option').length === 11")
    tab_to(page, "#li-sample")
    for _ in range(3):  # the test images of 0, 1 and 2, one key press each
        page.keyboard.press("ArrowDown")
        label = page.evaluate("() => { const s = document.querySelector('#li-sample'); "
                              "return s.options[s.selectedIndex].text; }")
        said = page.locator(".li-read[aria-live]").inner_text()
        assert said.startswith(f"Read: {label.split()[1]} ("), f"chose {label!r}, the page says {said!r}"
    tab_to(page, "#li-conv1 [data-layer]")  # the layers, map by map: focus explains a map
    assert page.inner_text("#li-detail h3") == "conv1, map 1"
    assert "strongest answer" in page.get_attribute("#li-conv1 [data-index='0']", "aria-label")
    assert page.evaluate("() => document.querySelector('#li-detail').getAttribute('aria-live')") == "polite"
    assert not serious(axe_violations(page)), "the page after a reading"
    context.close()
    assert not problems, problems


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, trained_model) -> Path:
    return save_checkpoint(tmp_path_factory.mktemp("pad") / "model.pt", trained_model, normalize=True)


def test_drawing_pad_reads_an_uploaded_digit_with_the_keyboard_alone(checkpoint, browser, axe,
                                                                        tmp_path: Path) -> None:
    pytest.importorskip("gradio", reason="the draw extra is not installed: pip install -e '.[draw]'")
    test_set = load_split(train=False)
    picture = tmp_path / "digit.png"  # a test digit as a scan would show it: dark ink on white, larger
    Image.fromarray(255 - test_set.data[7].numpy()).resize((140, 140), Image.Resampling.BICUBIC).save(picture)
    label = str(int(test_set.targets[7]))
    with running_pad(checkpoint) as (url, process):
        page, problems = open_pad(browser, url)
        assert not serious(axe_violations(page)), "the drawing pad as it opens"
        tab_to(page, "#upload")
        with page.expect_file_chooser() as chooser:
            page.keyboard.press("Enter")
        chooser.value.set_files(str(picture))
        said = page.locator("#pad [role=status][aria-live]")
        said.filter(has_text="The network reads").wait_for(timeout=30_000)
        assert said.inner_text() == f"The network reads {label}." and answer(page) == label
        page.close()
        assert not problems, problems
    assert process.returncode == 0, process.stderr.read()
