"""Each lesson converts to a Jupyter notebook; those that do not train are executed whole."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]-*.md"))
TRAINING = {"05", "06"}  # these lessons train a model: converted and checked, not executed here

sys.path.insert(0, str(ROOT / "docs"))
notebooks = pytest.importorskip("notebooks", reason="the docs extra is not installed: pip install -e '.[docs]'")


def python_blocks(lesson: Path) -> list[str]:
    return [block.strip() for block in re.findall(r"^```python\n(.*?)^```", lesson.read_text(), re.M | re.S)]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_lesson_converts_with_its_code_as_cells_and_its_commands_as_text(lesson: Path) -> None:
    notebook = notebooks.lesson_notebook(lesson)
    code = [cell.source.strip() for cell in notebook.cells if cell.cell_type == "code"]
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    expected = python_blocks(lesson)
    assert [cell for cell in code if not cell.startswith("%")] == expected
    assert notebook.cells[0].source.startswith("# "), "the lesson's title comes first"
    assert "pytest exercises/" in text, "shell commands stay as text to copy"
    assert "!!!" not in text and "<!-- hints" not in text, "no site-only syntax is left"


def test_lesson_5_notebook_runs_tensorboard_inline() -> None:
    notebook = notebooks.lesson_notebook(ROOT / "lessons" / "05-training-loop-and-tensorboard.md")
    code = [cell.source.strip() for cell in notebook.cells if cell.cell_type == "code"]
    assert "%load_ext tensorboard\n%tensorboard --logdir runs" in code


@pytest.mark.parametrize("lesson", [path for path in LESSONS if path.name[:2] not in TRAINING],
                         ids=lambda path: path.stem)
def test_notebook_runs_from_top_to_bottom(lesson: Path, tmp_path: Path) -> None:
    from nbclient import NotebookClient

    notebook = notebooks.lesson_notebook(lesson)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    assert any(output.output_type == "stream" for output in outputs), "the notebook prints what the lesson shows"
