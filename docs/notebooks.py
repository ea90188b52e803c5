"""Each lesson as a Jupyter notebook, generated from its Markdown with jupytext.

The ```python blocks become code cells, in order, as the lesson's tests run them.
Shell commands (```bash) stay as text to copy into a terminal, and fragments
(```py) stay as text too. A ```ipython block is for notebooks only (TensorBoard's
``%tensorboard`` magic): a code cell there, and shown as code on the website.
The site's admonitions become quotes, and folded ones (``???``) ``<details>``.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat

ADMONITION = re.compile(r'^(!!!|\?\?\?\+?) (\w+)(?: "([^"]*)")?\n((?:(?: {4}.*)?\n)*)', re.MULTILINE)
NOTEBOOK_ONLY = re.compile(r"^```ipython\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
# The site turns the line that ends in this marker into hints; a notebook keeps the line, as the raw file reads.
HINTS = re.compile(r"[ \t]*<!-- hints ex\d+ -->")
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}
# Tells jupytext that Python is the notebook's language, whatever the lesson's mix of blocks.
HEADER = "---\njupyter:\n  kernelspec:\n" + "".join(f"    {key}: {value}\n" for key, value in KERNEL.items()) + "---\n\n"


def _admonition(match: re.Match) -> str:
    marker, kind, title, body = match.groups()
    title = title if title is not None else kind.capitalize()
    body = "\n".join(line[4:] for line in body.rstrip("\n").splitlines())
    if marker.startswith("???"):
        return f"<details><summary><b>{title}</b></summary>\n\n{body}\n\n</details>\n\n"
    quoted = "\n".join(f"> {line}" if line else ">" for line in body.splitlines())
    return f"> **{title}**\n>\n{quoted}\n\n"


def lesson_notebook(lesson: Path) -> nbformat.NotebookNode:
    """The notebook of ``lesson``: its prose as Markdown cells, its runnable code as code cells."""
    text = HINTS.sub("", lesson.read_text())
    text = ADMONITION.sub(_admonition, text)
    text = NOTEBOOK_ONLY.sub(lambda match: f"```python\n{match.group(1)}```\n", text)
    notebook = jupytext.reads(HEADER + text, fmt="md")
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.startswith("%%bash\n"):
            cell.cell_type = "markdown"
            cell.source = "```bash\n" + cell.source.removeprefix("%%bash\n") + "\n```"
            for key in ("outputs", "execution_count"):
                cell.pop(key, None)
    notebook.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}}
    nbformat.validate(notebook)
    return notebook


def notebook_text(lesson: Path) -> str:
    """The notebook of ``lesson`` as ``.ipynb`` JSON."""
    return nbformat.writes(lesson_notebook(lesson))
