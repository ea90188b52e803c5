"""Each lesson as a Jupyter notebook, generated from its Markdown with jupytext.

The notebook runs from top to bottom wherever it was saved:

- ```python blocks become code cells, in order, as the lesson's tests run them, and
  the ```text block printed under one becomes that cell's output (shown once);
- ```py blocks (experiments that train for a while) become code cells tagged
  ``experiment``;
- a first cell (tagged ``setup``) finds the course's folder (the clone installed with
  ``pip install -e``) and makes its ``exercises`` importable, but stays in the
  notebook's folder: training writes ``runs/`` and ``checkpoints/`` there, even in an
  empty folder, and progress bars of the commands are redrawn every few seconds only;
- ```bash blocks become ``!`` cells tagged ``command``, whose ``exercises/`` and
  ``benchmarks/`` are the course's folder's; commands that start a
  server (TensorBoard, the drawing pad) stay as text to copy into a terminal, since
  they run until stopped. A ```ipython block is for notebooks only (TensorBoard's
  ``%tensorboard`` magic): a code cell there, and shown as code on the website;
- a cell that runs the learner's own code (it imports ``exercises``) is tagged
  ``raises-exception``: while the exercise is a stub, its error shows and "Run All"
  or ``jupyter nbconvert --execute`` go on;
- figures are embedded as attachments, and links to other pages point at the site;
- the site's admonitions become quotes, and folded ones (``???``) ``<details>``.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import jupytext
import nbformat

ADMONITION = re.compile(r'^(!!!|\?\?\?\+?) (\w+)(?: "([^"]*)")?\n((?:(?: {4}.*)?\n)*)', re.MULTILINE)
NOTEBOOK_ONLY = re.compile(r"^```ipython\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
EXPERIMENT = re.compile(r"^```py\n", re.MULTILINE)
PRINTED = re.compile(r"\A```text\n(.*?)\n```\n*", re.DOTALL)
FIGURE = re.compile(r"\]\(figures/([\w.-]+\.png)\)")
PAGE_LINK = re.compile(r"\]\((?!https?:|#|attachment:)([\w./-]+)\.md(#[\w-]+)?\)")
COURSE_FOLDER = re.compile(r"(?<![\w/.-])((?:exercises|benchmarks)/\S*)")  # a command's path into the course's folder
SERVER = re.compile(r"^(?:tensorboard|python -m (?:solutions|exercises) draw)\b")
# The site turns the line that ends in this marker into hints; a notebook keeps the line, as the raw file reads.
HINTS = re.compile(r"[ \t]*<!-- hints ex\d+ -->")
LEARNERS_CODE = re.compile(r"^\s*(?:from|import) exercises\b", re.MULTILINE)
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}
# Tells jupytext that Python is the notebook's language, whatever the lesson's mix of blocks.
HEADER = "---\njupyter:\n  kernelspec:\n" + "".join(f"    {key}: {value}\n" for key, value in KERNEL.items()) + "---\n\n"
DEFAULT_SITE = "http://127.0.0.1:8000/"  # where `mkdocs serve` shows the course
SETUP = '''# This notebook works in the folder it is saved in: training writes runs/ and checkpoints/ here.
# The exercises are the course's folder's (the clone you installed with pip install -e): COURSE
# names it, and the cells below import them and run their checks from there.
import os
import sys
from pathlib import Path

from course.threads import configure_threads

configure_threads()  # before PyTorch loads: training then shares the cores with other programs (lesson 7)

import solutions

COURSE = Path(solutions.__file__).resolve().parent.parent
if not (COURSE / "exercises").is_dir():
    print(f"No exercises/ in {COURSE}: this course was installed without -e. The lesson's code runs; "
          "for the exercises, clone the course and install it with pip install -e .")
sys.path.insert(0, str(COURSE))  # import exercises from here
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(COURSE), os.environ.get("PYTHONPATH")]))  # and in commands
os.environ["TQDM_MININTERVAL"] = "10"  # a command's progress bar redrawn every 10 s: a short output
print("working in", Path.cwd(), "with the course in", COURSE)'''


def _admonition(match: re.Match) -> str:
    marker, kind, title, body = match.groups()
    title = title if title is not None else kind.capitalize()
    body = "\n".join(line[4:] for line in body.rstrip("\n").splitlines())
    if marker.startswith("???"):
        return f"<details><summary><b>{title}</b></summary>\n\n{body}\n\n</details>\n\n"
    quoted = "\n".join(f"> {line}" if line else ">" for line in body.splitlines())
    return f"> **{title}**\n>\n{quoted}\n\n"


def _site_link(match: re.Match, site: str) -> str:
    """A link to another page of the site, from the lessons' folder, as an absolute address."""
    target, anchor = match.group(1), match.group(2) or ""
    parts: list[str] = ["lessons"]
    for part in target.split("/"):
        if part == "..":
            parts.pop()
        elif part != ".":
            parts.append(part)
    path = "/".join(parts)
    return f"]({site}{'' if path == 'index' else path + '/'}{anchor})"


def _command_cell(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A ```bash block as ``!`` lines, or as text to copy when it starts a server."""
    commands = cell.source.removeprefix("%%bash\n")
    if any(SERVER.match(line) for line in commands.splitlines()):
        return nbformat.v4.new_markdown_cell("```bash\n" + commands + "\n```")
    commands = COURSE_FOLDER.sub(r'"{COURSE}/\1"', commands)
    lines = [line if not line.strip() or line.startswith("#") else "!" + line for line in commands.splitlines()]
    return nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": ["command"]})


def _with_figures(cell: nbformat.NotebookNode, figures: Path) -> nbformat.NotebookNode:
    """Embed the figures a Markdown cell shows, so that the notebook shows them wherever it is saved."""
    names = FIGURE.findall(cell.source)
    if names:
        cell.attachments = {name: {"image/png": base64.b64encode((figures / name).read_bytes()).decode()}
                            for name in names}
        cell.source = FIGURE.sub(r"](attachment:\1)", cell.source)
    return cell


def _cells(notebook: nbformat.NotebookNode, figures: Path) -> list[nbformat.NotebookNode]:
    cells: list[nbformat.NotebookNode] = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.startswith("%%bash\n"):
            cell = _command_cell(cell)
        elif cell.cell_type == "code" and LEARNERS_CODE.search(cell.source):
            cell.metadata.setdefault("tags", []).append("raises-exception")
        elif cell.cell_type == "markdown" and cells and cells[-1].cell_type == "code":
            printed = PRINTED.match(cell.source)
            if printed:  # what the cell above prints: its output, shown once, until it is run
                cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed.group(1) + "\n")]
                cell.source = cell.source[printed.end():]
                if not cell.source.strip():
                    continue
        cells.append(_with_figures(cell, figures) if cell.cell_type == "markdown" else cell)
    return cells


def lesson_notebook(lesson: Path, site: str = DEFAULT_SITE) -> nbformat.NotebookNode:
    """The notebook of ``lesson``; ``site`` is the address the course is published at, for its links."""
    text = HINTS.sub("", lesson.read_text())
    text = ADMONITION.sub(_admonition, text)
    text = NOTEBOOK_ONLY.sub(lambda match: f"```python\n{match.group(1)}```\n", text)
    text = EXPERIMENT.sub('```python tags=["experiment"]\n', text)
    text = PAGE_LINK.sub(lambda match: _site_link(match, site.rstrip("/") + "/"), text)
    notebook = jupytext.reads(HEADER + text, fmt="md")
    cells = _cells(notebook, lesson.parent / "figures")
    setup = nbformat.v4.new_code_cell(SETUP, metadata={"tags": ["setup"]})
    notebook.cells = [cells[0], setup, *cells[1:]]
    notebook.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}}
    nbformat.validate(notebook)
    return notebook


def notebook_text(lesson: Path, site: str = DEFAULT_SITE) -> str:
    """The notebook of ``lesson`` as ``.ipynb`` JSON."""
    return nbformat.writes(lesson_notebook(lesson, site))
