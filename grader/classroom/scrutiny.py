"""Reading a submission's modules, in the trusted grader, for what no answer from the sandbox can prove.

The worker measures a few things beside computing answers: whether PyTorch's own function did the
work a learner was asked to write, which batches were held, whether a graph was recorded. Those
measurements run in the learner's process, so code that reaches the grader's own objects there
(``sys.modules["questions"]``, the worker's ``__main__``, frames, the tracer's dispatch mode) can
rewrite them. What the learner's source says is read here instead, where it cannot: a module that
reaches around is named, and its measured checks count as unverified; a module that names the
library function it re-implements (``F.conv2d``) did not write it itself. Nothing here runs the code.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cached_property

#: Modules through which code reaches the interpreter's insides or the grader's program in the worker.
REACHING_MODULES = {"sys", "builtins", "importlib", "ctypes", "gc", "inspect", "types", "operator", "pickle",
                    "marshal", "runpy", "code", "codeop", "pkgutil", "zipimport", "imp", "copyreg", "dill",
                    "cloudpickle", "__main__", "questions", "worker", "tracing", "pretend", "reference_network",
                    "grader", "solutions", "exercises", "functorch", "_thread", "threading", "multiprocessing",
                    "subprocess", "signal", "mmap", "resource"}
#: Attributes that lead to the same places, or run code given as text (TorchScript, FX, hubs, pickles).
REACHING_ATTRIBUTES = REACHING_MODULES | {"modules", "ops", "library", "jit", "fx", "hub", "CompilationUnit",
                                          "export", "overrides", "utils", "system", "popen", "fork", "kill",
                                          "dlopen", "ctypeslib"}
#: Builtins that look names up, run text as code, or give addresses (``id``, with /proc/self/mem).
REACHING_CALLS = {"eval", "exec", "compile", "globals", "locals", "vars", "__import__", "breakpoint", "id",
                  "open", "setattr", "delattr", "memoryview"}
#: Dunder attributes ordinary code uses; any other leads to globals, frames, classes' insides.
PLAIN_DUNDERS = {"__init__", "__name__", "__len__", "__iter__", "__next__", "__getitem__", "__call__",
                 "__repr__", "__str__", "__enter__", "__exit__"}
#: Attributes of frames, code, generators and tracebacks: from a generator handed over, the asker's variables.
FRAME_PREFIXES = ("gi_", "cr_", "ag_", "f_", "tb_", "co_")
#: For each function a learner writes by hand, the names of PyTorch's versions that would do its work
#: (as parts of a name, lower case; see also :data:`grader.tracing.DOES_THE_WORK`, the same at run time).
NAMED_WORK = {
    "conv2d": ("conv",),
    "max_pool2d": ("pool",),
    "losses": ("softmax", "nll", "cross_entropy", "crossentropy"),
    "forward_backward": ("backward", "autograd", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "torch.func"),
    "optimisers": ("optim", "_fused"),
}


@dataclass
class Place:
    """Something found in a module: where and what."""

    module: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.module} line {self.line}: {self.what}"


def _constant_lookups(tree: ast.AST) -> list[ast.Name]:
    """The ``getattr`` and ``hasattr`` called with a name written out: the same as an attribute."""
    return [node.func for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr") and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)]


def _names(tree: ast.AST) -> list[tuple[int, str, ast.AST]]:
    """Every name the code looks up through something else: attributes, ``getattr``'s constant names,
    and what it imports, each with its line and node."""
    found, lookups = [], {id(name) for name in _constant_lookups(tree)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            found.append((node.lineno, node.attr, node))
        elif isinstance(node, ast.Call) and id(node.func) in lookups:
            found.append((node.lineno, node.args[1].value, node))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            found += [(node.lineno, f"{module}.{alias.name}" if module else alias.name, node) for alias in node.names]
    return found


def reaching(module: str, source: bytes) -> list[Place]:
    """The places where ``module``'s code could reach the grader's program in the worker, or hide what it
    calls from this reading (a source that does not parse reaches nothing: it never runs)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    places = [Place(module, line, what) for line, what in _reaching_names(tree)]
    imported, named_lookups = _imported(tree), {id(node) for node in _constant_lookups(tree)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and (node.id in REACHING_CALLS or (
                node.id in ("getattr", "hasattr") and id(node) not in named_lookups)):
            places.append(Place(module, node.lineno, f"{node.id}()"))  # called, or kept to call later
        elif isinstance(node, ast.Name) and node.id.startswith("__") and node.id not in ("__name__", "__file__"):
            places.append(Place(module, node.lineno, node.id))
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            places += [Place(module, node.lineno, f"changes {ast.unparse(target)}")
                       for target in targets if _root(target) in imported]
    return sorted(places, key=lambda place: place.line)


def _reaching_names(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for line, name, node in _names(tree):
        if isinstance(node, ast.ImportFrom) and node.level:  # the course's own modules, beside this one
            continue
        parts = name.split(".")
        last = parts[-1]
        imported = isinstance(node, (ast.Import, ast.ImportFrom))
        if any(part in REACHING_MODULES or (part.startswith("_") and part != "__future__") for part in parts) \
                if imported else (last in REACHING_ATTRIBUTES or _private(last, node)):
            found.append((line, name if imported else f".{last}"))
    return found


def _private(name: str, node: ast.AST) -> bool:
    """A dunder that leads into an object's insides, a frame's attribute, or another object's private part."""
    if name.startswith("__") and name.endswith("__"):
        return name not in PLAIN_DUNDERS
    if name.startswith(FRAME_PREFIXES):
        return True
    owner = getattr(node, "value", None)
    return name.startswith("_") and not (isinstance(owner, ast.Name) and owner.id in ("self", "cls"))


def _imported(tree: ast.AST) -> set[str]:
    """The names a module binds by importing: modules, and whatever it takes from them."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _root(target: ast.AST) -> str | None:
    """The name an assignment into an attribute or item starts from (``torch`` in ``torch.autograd.backward``);
    ``None`` for a plain name: rebinding one's own variable changes nothing of anyone else's."""
    if not isinstance(target, (ast.Attribute, ast.Subscript)):
        return None
    while isinstance(target, (ast.Attribute, ast.Subscript)):
        target = target.value
    return target.id if isinstance(target, ast.Name) else None


def library_calls(module: str, source: bytes, function: str) -> list[Place]:
    """The places where ``module`` names PyTorch's own version of ``function`` (a key of :data:`NAMED_WORK`)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    words = NAMED_WORK[function]
    return [Place(module, line, name if "." in name else f".{name}") for line, name, node in _names(tree)
            if not (isinstance(node, ast.ImportFrom) and node.level)
            and any(word in name.lower() for word in words)]


@dataclass
class Scrutiny:
    """What the trusted grader read in a submission's modules."""

    modules: dict[str, bytes]

    @cached_property
    def reaching(self) -> list[Place]:
        """Every place in the learner's modules that could reach the grader's measurements in the worker."""
        return [place for name, source in sorted(self.modules.items()) for place in reaching(name, source)]

    def library_calls(self, function: str, files: tuple[str, ...]) -> list[Place]:
        return [place for name in files if name in self.modules
                for place in library_calls(name, self.modules[name], function)]
