"""MkDocs hooks: serve ``lessons/`` and their notebooks, render exercise hints as tips, and math as MathML.

Each lesson's notebook (``lessons/NN-name.ipynb``, made by ``docs/notebooks.py``)
is generated at build time, never committed, and linked from the top of its page.

A lesson asks for an exercise's hints with a line ending in ``<!-- hints ex7 -->``
(what comes before it, e.g. how to get the hints from the command line, is what a
reader of the raw file sees); the site shows the hints from ``grader/exercises.toml``,
the one place they are written, instead of that line.

The Look inside page's ``weights.json`` is exported at build time from the course's
trained network, and its ``test-digits.json``, one MNIST test image of each digit, to
read without drawing (``docs/site_network.py``).

On the lesson pages every figure is a link to itself, so that a phone opens it full
size when tapped; a figure with a ``NAME_phone.png`` beside it shows that narrow
variant on screens up to 600 pixels wide.

Every page gets two names mkdocs-material's templates leave out, for screen readers: the
search dialog's, and each section's navigation landmark's (its title, where the theme
names it by an empty label).

Math is written ``$...$`` or ``$$...$$``; ``pymdownx.arithmatex`` finds it (never
inside code) and this hook turns it into MathML at build time, which browsers draw
natively, so the site needs no JavaScript renderer and works offline.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Callable
from pathlib import Path

from latex2mathml.converter import convert as latex_to_mathml
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from course.threads import configure_threads

configure_threads()  # before PyTorch loads: the build may train the Look inside network

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
HINTS = re.compile(r"^.*<!-- hints ex(\d+) -->$", re.MULTILINE)
MATH = re.compile(r'<(span|div) class="arithmatex">\\[(\[](.*?)\\[)\]]</\1>', re.DOTALL)

LESSON_PAGE = re.compile(r"^lessons/\d\d-[^/]+\.md$")
IMAGE = re.compile(r'<img (?P<before>[^>]*?)src="(?P<src>[^"]+)"(?P<after>[^>]*)>')
SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'
# A section's navigation, labelled by the icon-only label beside its link: named by its title instead.
SECTION_NAV = re.compile(r'(<nav class="md-nav" data-md-level="\d+") aria-labelledby="[^"]+"([^>]*>\s*'
                         r'<label class="md-nav__title" for="[^"]+">\s*<span class="md-nav__icon md-icon"></span>'
                         r'\s*(?P<title>[^<]*?)\s*</label>)')
PHONE_WIDTH = "600px"  # up to this screen width, a figure's "_phone" variant is shown where there is one

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))
from course.errors import CourseError  # noqa: E402
from grader.catalog import exercise  # noqa: E402
from notebooks import notebook_text  # noqa: E402
from site_network import CHECKPOINT_ENV_VAR, test_digits_json, weights_json  # noqa: E402


def on_files(files: Files, config) -> Files:
    for path in sorted(LESSONS.rglob("*")):
        if path.is_file():
            relative = path.relative_to(ROOT).as_posix()
            files.append(File(relative, str(ROOT), config["site_dir"], config["use_directory_urls"]))
        if LESSON_PAGE.match(path.relative_to(ROOT).as_posix()):
            notebook = path.relative_to(ROOT).with_suffix(".ipynb").as_posix()
            files.append(File.generated(config, notebook, content=notebook_text(path, config["site_url"])))
    files.append(File.generated(config, "look-inside/weights.json", content=look_inside_file(weights_json)))
    files.append(File.generated(config, "look-inside/test-digits.json", content=look_inside_file(test_digits_json)))
    return files


def look_inside_file(make: Callable[[], str]) -> str:
    """A data file of the Look inside page; a missing MNIST or a bad checkpoint stops the build with one line."""
    try:
        return make()
    except CourseError as error:
        raise PluginError(f"the Look inside page needs the course's trained network: {error} (point "
                          f"MNIST_COURSE_DATA at MNIST, or {CHECKPOINT_ENV_VAR} at a checkpoint)") from None


def notebook_link(markdown: str, page) -> str:
    """A lesson page's title, followed by the link to its notebook."""
    if not LESSON_PAGE.match(page.file.src_uri):
        return markdown
    title, rest = markdown.split("\n", 1)
    name = Path(page.file.src_uri).with_suffix(".ipynb").name
    link = f'[:material-notebook-outline: Open as a Jupyter notebook]({name}){{ .md-button download="{name}" }}'
    return f"{title}\n\n{link}\n{rest}"


def hint_tips(number: int) -> str:
    """The hints of exercise ``number`` as collapsed admonitions, a nudge first."""
    entry = exercise(number)
    tips = [f'??? tip "Hint {step} of {len(entry.steps)}"\n    {text}\n' for step, text in
            enumerate(entry.steps, start=1)]
    return "\n".join(tips)


def on_page_markdown(markdown: str, page, config, files) -> str:
    return notebook_link(HINTS.sub(lambda match: hint_tips(int(match.group(1))), markdown), page)


def mathml(match: re.Match) -> str:
    display = "block" if match.group(1) == "div" else "inline"
    return latex_to_mathml(html.unescape(match.group(2)).strip(), display=display)


def figure(match: re.Match) -> str:
    """A figure as a link to itself, to open it full size on a phone, with its phone variant where it has one."""
    source = match.group("src")
    phone = Path(source).with_name(f"{Path(source).stem}_phone.png").name
    image = match.group(0)
    if (LESSONS / "figures" / phone).is_file():
        variant = source.rsplit("/", 1)[0] + "/" + phone if "/" in source else phone
        image = f'<picture><source media="(max-width: {PHONE_WIDTH})" srcset="{variant}">{image}</picture>'
    return f'<a class="figure-link" href="{source}">{image}</a>'


def on_page_content(content: str, page, config, files) -> str:
    content = MATH.sub(mathml, content)
    return IMAGE.sub(figure, content) if LESSON_PAGE.match(page.file.src_uri) else content


def named_landmarks(output: str) -> str:
    """The page with its search dialog and its sections' navigation landmarks named."""
    output = output.replace(SEARCH_DIALOG, SEARCH_DIALOG.replace('role="dialog"', 'role="dialog" aria-label="Search"'))
    return SECTION_NAV.sub(lambda match: f'{match.group(1)} aria-label="{match.group("title")} section"'
                                         f'{match.group(2)}', output)


def on_post_page(output: str, page, config) -> str:
    return named_landmarks(output)


def on_serve(server, config, builder) -> None:
    server.watch(str(LESSONS))
    server.watch(str(ROOT / "grader" / "exercises.toml"))
