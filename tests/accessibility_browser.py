"""axe-core in Chromium: the accessibility checks of the website, shared by its test and by a measurement.

axe-core is installed from npm by ``.ci/run`` into ``.ci/node`` (or set ``AXE_CORE_JS`` to its
``axe.min.js``); it is injected into each page and run there with its default rules.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from tests.test_site import ROOT

AXE_JS = Path(os.environ.get("AXE_CORE_JS") or ROOT / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js")
SCHEMES = ("light", "dark")
WIDTHS = (1280, 390)
SERIOUS = ("serious", "critical")

# One violation per node: rule, impact, and where and what it is, short enough to read in a failure.
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.flatMap((rule) => rule.nodes.map((node) => ({
    rule: rule.id, impact: rule.impact, target: node.target.join(" "),
    summary: (node.failureSummary || "").split("\\n").slice(1, 2).join("").trim().slice(0, 160),
  })));
}"""


def axe_violations(page) -> list[dict]:
    """Every node of the loaded ``page`` that axe-core finds breaking one of its rules."""
    page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(RUN_AXE)


def check_site(browser, base_url: str, names: list[str]) -> dict[tuple[str, int], dict[str, list[dict]]]:
    """axe-core on each page of ``names``, in each scheme at each width: violations by (scheme, width), by page."""
    found: dict[tuple[str, int], dict[str, list[dict]]] = {}
    for scheme in SCHEMES:
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
            found[scheme, width] = {}
            for name in names:
                page = context.new_page()
                page.goto(base_url + name.removesuffix("index.html"), wait_until="load")
                found[scheme, width][name] = axe_violations(page)
                page.close()
            context.close()
    return found


def counts(found: dict[tuple[str, int], dict[str, list[dict]]]) -> Counter:
    """Nodes in violation by (rule, impact), over every page, scheme and width."""
    return Counter((v["rule"], v["impact"]) for pages in found.values() for page in pages.values() for v in page)
