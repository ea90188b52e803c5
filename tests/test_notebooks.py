"""Each lesson converts to a Jupyter notebook that runs where it is saved; those that do not train are executed whole."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]-*.md"))
TRAINING = {"05", "06"}  # these lessons train a model: converted and checked, not executed here
LONG = {"experiment", "command", "setup"}  # cells left out of the execution here: they train, or act on the course

sys.path.insert(0, str(ROOT / "docs"))
notebooks = pytest.importorskip("notebooks", reason="the docs extra is not installed: pip install -e '.[docs]'")
nbformat = pytest.importorskip("nbformat")


def blocks(lesson: Path, language: str) -> list[str]:
    return [block.strip() for block in re.findall(rf"^```{language}\n(.*?)^```", lesson.read_text(), re.M | re.S)]


def tagged(notebook, tag: str) -> list[str]:
    return [cell.source.strip() for cell in notebook.cells if tag in cell.metadata.get("tags", [])]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_lesson_converts_with_its_code_and_commands_as_cells(lesson: Path) -> None:
    notebook = notebooks.lesson_notebook(lesson)
    nbformat.validate(notebook)
    code = [cell.source.strip() for cell in notebook.cells
            if cell.cell_type == "code" and not LONG & set(cell.metadata.get("tags", []))]
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert [cell for cell in code if not cell.startswith("%")] == blocks(lesson, "python")
    assert tagged(notebook, "experiment") == blocks(lesson, "py"), "every experiment runs in place"
    commands = [block for block in blocks(lesson, "bash") if not notebooks.SERVER.match(block)]
    assert [cell.replace("!", "").replace('"{COURSE}/', "").replace('/"', "/").replace('.py"', ".py")
            for cell in tagged(notebook, "command")] == commands
    assert any('!pytest "{COURSE}/exercises/"' in cell for cell in tagged(notebook, "command")), \
        "the lesson's check runs on the course's exercises"
    learners = [cell.source for cell in notebook.cells if "raises-exception" in cell.metadata.get("tags", [])]
    assert learners == [cell.source for cell in notebook.cells
                        if cell.cell_type == "code" and re.search(r"^from exercises\b", cell.source, re.M)], \
        "a cell that runs the learner's code may show the stub's error, and Run All goes on"
    assert not re.search(r"```(?:python|py)\n", text), "no Markdown cell holds Python that the lesson runs"
    assert notebook.cells[0].source.startswith("# "), "the lesson's title comes first"
    assert "!!!" not in text and "<!-- hints" not in text, "no site-only syntax is left"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_notebook_is_whole_without_the_site(lesson: Path) -> None:
    """Figures embedded, links absolute, each printed output shown once: as the cell's output."""
    notebook = notebooks.lesson_notebook(lesson, "https://course.example/sub/")
    markdown = [cell for cell in notebook.cells if cell.cell_type == "markdown"]
    text = "\n".join(cell.source for cell in markdown)
    assert "](figures/" not in text and not re.search(r"\]\((?!https?:|#)[^)]*\.md\b", text), text
    shown = re.findall(r"\]\(attachment:([\w.-]+)\)", text)
    assert len(shown) == len(re.findall(r"\]\(figures/", lesson.read_text()))
    for cell in markdown:
        for name, data in cell.get("attachments", {}).items():
            assert base64.b64decode(data["image/png"]).startswith(b"\x89PNG"), name
    assert not any(cell.source.startswith("```text") for cell in markdown), "printed output appears once"
    printed = ["".join(output.text).strip() for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.outputs]
    under_code = re.findall(r"^```(?:python|py|bash)\n.*?^```\n\n```text\n(.*?)^```", lesson.read_text(), re.M | re.S)
    assert printed == [block.strip() for block in under_code]


def test_links_between_pages_point_at_the_site() -> None:
    notebook = notebooks.lesson_notebook(ROOT / "lessons" / "02-convolutions-and-pooling.md", "https://course.example/sub/")
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "](https://course.example/sub/exercises/)" in text


def test_lesson_5_notebook_runs_tensorboard_inline_on_the_runs_training_writes() -> None:
    notebook = notebooks.lesson_notebook(ROOT / "lessons" / "05-training-loop-and-tensorboard.md")
    code = [cell.source.strip() for cell in notebook.cells if cell.cell_type == "code"]
    assert "%load_ext tensorboard\n%tensorboard --logdir runs" in code
    assert any(cell.startswith("!python -m solutions train") for cell in tagged(notebook, "command"))
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "tensorboard --logdir runs" in text, "a server to start in a terminal stays as text"


def test_setup_cell_stays_in_the_notebooks_folder_and_finds_the_courses_exercises(tmp_path: Path) -> None:
    """Saved in an empty folder, the notebook trains there, imports the course's exercises, and keeps bars short."""
    [setup] = tagged(notebooks.lesson_notebook(LESSONS[0]), "setup")
    probe = "\nimport exercises, subprocess; print(Path.cwd()); print(Path(exercises.__file__).parent.parent)\n" \
            "print(subprocess.run([sys.executable, '-c', 'import exercises, os; print(os.environ[\"TQDM_MININTERVAL\"])'], " \
            "capture_output=True, text=True, check=True).stdout)"
    installed = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout as the installed course, wherever the venv points
    ran = subprocess.run([sys.executable, "-c", setup + probe], cwd=tmp_path, env=installed,
                         capture_output=True, text=True, check=True)
    assert ran.stdout.split()[-3:] == [str(tmp_path), str(ROOT), "10"]
    assert not list(tmp_path.iterdir()), "the set-up writes nothing"


@pytest.mark.parametrize("lesson", [path for path in LESSONS if path.name[:2] not in TRAINING],
                         ids=lambda path: path.stem)
def test_notebook_runs_from_top_to_bottom(lesson: Path, tmp_path: Path) -> None:
    from nbclient import NotebookClient

    notebook = notebooks.lesson_notebook(lesson)
    notebook.cells = [cell for cell in notebook.cells if not LONG & set(cell.metadata.get("tags", []))]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []  # the lesson's printed output, attached in advance: run, it must come back
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    assert any(output.output_type == "stream" for output in outputs), "the notebook prints what the lesson shows"
