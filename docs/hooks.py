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
variant on screens up to 600 pixels wide. The confusion matrix's 100 counts are too
small to read in a phone's column: there it is shown as a table of them instead,
made from ``lessons/figures/results.json``, the run that drew the figure.

Every page gets two names mkdocs-material's templates leave out, for screen readers: the
search dialog's, and each section's navigation landmark's (its title, where the theme
names it by an empty label).

Math is written ``$...$`` or ``$$...$$``; ``pymdownx.arithmatex`` finds it (never
inside code) and this hook turns it into MathML at build time, which browsers draw
natively, so the site needs no JavaScript renderer and works offline.
"""

from __future__ import annotations

import html
import json
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
# An image, with the paragraph around it when it stands alone in one (a figure that becomes a table replaces it)
IMAGE = re.compile(r'(?P<paragraph><p>)?(?P<image><img [^>]*?src="(?P<src>[^"]+)"[^>]*>)(?(paragraph)</p>)')
SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'
# A section's navigation, labelled by the icon-only label beside its link: named by its title instead.
SECTION_NAV = re.compile(r'(<nav class="md-nav" data-md-level="\d+") aria-labelledby="[^"]+"([^>]*>\s*'
                         r'<label class="md-nav__title" for="[^"]+">\s*<span class="md-nav__icon md-icon"></span>'
                         r'\s*(?P<title>[^<]*?)\s*</label>)')
# A code block to be copied (any language but printed ``text``), up to its code's text.
COPIED_CODE = re.compile(r'(<div class="language-(?!text\b)[\w-]+ highlight"><pre><span></span><code>)(.*?)(</code>)',
                         re.DOTALL)
PHONE_WIDTH = "600px"  # up to this screen width, a figure's "_phone" variant is shown where there is one
RESULTS = LESSONS / "figures" / "results.json"

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


def confusion_table() -> str:
    """The fast recipe's confusion matrix as an HTML table: true digits in rows, the digits read in columns.

    Counts on the diagonal (read right) and off it (misread) are marked by a class each; zero is left blank,
    as in the figure. Wrapped as mkdocs-material wraps a table, so that it scrolls with the course's cue.
    """
    matrix = json.loads(RESULTS.read_text())["fast_recipe"]["confusion_matrix"]
    digits = range(len(matrix))
    head = (f'<tr><td></td><th scope="colgroup" colspan="{len(matrix)}">read as</th></tr>'
            '<tr><th scope="col">true</th>' + "".join(f'<th scope="col">{digit}</th>' for digit in digits) + "</tr>")
    rows = []
    for true_digit, counts in enumerate(matrix):
        cells = "".join(f'<td class="{"right" if read == true_digit else "misread"}">{count}</td>' if count
                        else "<td></td>" for read, count in enumerate(counts))
        rows.append(f'<tr><th scope="row">{true_digit}</th>{cells}</tr>')
    caption = ("Confusion matrix of the fast recipe on the 10,000 test digits: each row counts what one true digit "
               "was read as; the diagonal is read right, a blank is none")
    return ('<div class="md-typeset__scrollwrap"><div class="md-typeset__table"><table class="confusion-table">'
            f'<caption>{caption}</caption><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></div></div>')


# Figures shown on a phone as a table of what they draw, by file name.
PHONE_TABLES: dict[str, Callable[[], str]] = {"confusion_matrix.png": confusion_table}


def figure(match: re.Match) -> str:
    """A figure as a link to itself, to open it full size on a phone, with its phone variant where it has one:
    a narrower drawing of it, or a table of its numbers that replaces it on a phone."""
    source = match.group("src")
    phone = Path(source).with_name(f"{Path(source).stem}_phone.png").name
    image = match.group("image")
    if (LESSONS / "figures" / phone).is_file():
        variant = source.rsplit("/", 1)[0] + "/" + phone if "/" in source else phone
        image = f'<picture><source media="(max-width: {PHONE_WIDTH})" srcset="{variant}">{image}</picture>'
    linked = f'<a class="figure-link" href="{source}">{image}</a>'
    table = PHONE_TABLES.get(Path(source).name)
    if table is not None and match.group("paragraph"):
        return f'<div class="phone-table-figure">{linked}{table()}</div>'
    return f"<p>{linked}</p>" if match.group("paragraph") else linked


def unbreakable_words(code: str) -> str:
    """The highlighted ``code`` with each word Pygments left bare (a bash option like ``--own-parts``) in a
    ``word`` span, which the course's phone style keeps whole: a bare word would wrap at its hyphens."""
    pieces = re.split(r"(<[^>]+>)", code)
    depth = 0
    for index, piece in enumerate(pieces):
        if piece.startswith("<span"):
            depth += 1
        elif piece == "</span>":
            depth -= 1
        elif depth == 0 and not piece.startswith("<"):
            pieces[index] = re.sub(r"\S+", r'<span class="word">\g<0></span>', piece)
    return "".join(pieces)


def on_page_content(content: str, page, config, files) -> str:
    content = COPIED_CODE.sub(lambda match: match.group(1) + unbreakable_words(match.group(2)) + match.group(3), content)
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
