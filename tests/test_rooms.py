"""The three rooms: the runtime (course/), the reference answers (solutions/), the learner's tree (exercises/).

Read from the sources, not imported: the parts import only the bottom of the runtime, the bottom
imports nothing above it, and the runtime reaches a set of parts only through course/parts.py.
"""

import ast
from pathlib import Path

from grader.catalog import EXERCISES, REPO, SOLUTIONS

COURSE = REPO / "course"
BOTTOM = {"course", "course.errors", "course.options", "course.threads", "course.mnist", "course.writes"}
SEAM = COURSE / "parts.py"
PARTS_PACKAGES = ("solutions", "exercises")


def imported(path: Path) -> set[str]:
    """The modules ``path`` imports, by absolute name; ``from package import name`` counts as ``package.name``."""
    package = path.parent.name
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = ".".join(filter(None, [package if node.level else "", node.module or ""]))
            names.add(module)
            if "." not in module:  # from a package: each name may be one of its modules
                names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def own(names: set[str], *roots: str) -> set[str]:
    return {name for name in names if name.split(".")[0] in roots}


def modules(folder: Path) -> list[Path]:
    return [path for path in sorted(folder.glob("*.py")) if not path.name.startswith("test_")
            and path.name != "conftest.py"]


def test_the_parts_import_only_the_bottom_of_the_runtime():
    for folder in (SOLUTIONS, EXERCISES):
        for path in modules(folder):
            allowed = BOTTOM | {"course.cli"} if path.name == "__main__.py" else BOTTOM
            wrong = own(imported(path), "course", *PARTS_PACKAGES) - allowed
            wrong = {name for name in wrong if not name.startswith(f"{folder.name}.")}  # a part may use another
            assert not wrong, f"{folder.name}/{path.name} imports {sorted(wrong)}"


def test_the_bottom_imports_nothing_above_it():
    for path in modules(COURSE):
        if f"course.{path.stem}" in BOTTOM or path.name == "__init__.py":
            wrong = own(imported(path), "course", *PARTS_PACKAGES) - BOTTOM
            assert not wrong, f"course/{path.name} imports {sorted(wrong)}"


def test_the_runtime_reaches_the_parts_only_through_the_seam():
    for path in modules(COURSE):
        named = own(imported(path), *PARTS_PACKAGES)
        assert not named, f"course/{path.name} imports {sorted(named)}: the runtime takes its parts from course/parts.py"
    assert '"solutions"' in SEAM.read_text()  # the one place that names the reference answers


def test_the_learners_tree_holds_only_the_learners_modules():
    written = {path.name for path in modules(SOLUTIONS)}
    assert {path.name for path in modules(EXERCISES)} == written
    assert not written - {"__init__.py"} & {path.name for path in modules(COURSE)}, "a module is in two rooms"
