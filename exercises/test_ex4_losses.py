"""Checks of exercise 4, softmax and cross-entropy by hand (exercises/losses.py)."""

import math

import pytest
import torch
import torch.nn.functional as F

from grader.checks import expect, library_use
from grader.diagnosis import agrees, likeliest, telling
from grader.tracing import borrowed as library_borrowed

pytestmark = pytest.mark.ex4


def log_softmax(learner, scores, dim):
    with learner.running("log_softmax"):
        return learner.get("losses", "log_softmax")(scores, dim=dim)


def cross_entropy(learner, scores, targets):
    with learner.running("cross_entropy"):
        return learner.get("losses", "cross_entropy")(scores, targets)


def close(found, expected, tolerance=1e-5) -> bool:
    return isinstance(found, torch.Tensor) and agrees(found.double(), expected.double(), tolerance, tolerance)


def log_softmax_mistakes(scores: torch.Tensor, dim: int) -> list:
    """The likeliest wrong log-softmaxes of ``scores``, each as the answer it gives."""
    largest = scores.amax(dim=dim, keepdim=True)
    return [*[("dim", lambda other=other: F.log_softmax(scores, dim=other))
              for other in range(scores.dim()) if other != dim % scores.dim()],
            ("log_of_softmax", lambda: F.softmax(scores, dim=dim)),
            ("log_softmax_shift", lambda: scores - (scores - largest).exp().sum(dim=dim, keepdim=True).log()),
            ("max_subtracted", lambda: scores - scores.exp().sum(dim=dim, keepdim=True).log()),
            ("log_underflow", lambda: (scores - largest).exp().div((scores - largest).exp().sum(dim, keepdim=True)).log()),
            ("max_per_row", lambda: (scores - scores.max()) - (scores - scores.max()).exp().sum(dim, keepdim=True).log())]


@pytest.mark.parametrize("shape, dim", [((5, 10), 1), ((4, 7), -1), ((6, 3), 0), ((2, 3, 4), 1)], ids=str)
def test_log_softmax_equals_torchs(learner, shape, dim):
    """log_softmax gives F.log_softmax's values along the dimension asked for"""
    scores = 3 * torch.randn(*shape, generator=torch.Generator().manual_seed(len(shape) + dim))
    expected = F.log_softmax(scores, dim=dim)
    found = log_softmax(learner, scores, dim)
    if close(found, expected):
        return
    expect(False, likeliest(found, log_softmax_mistakes(scores, dim), otherwise="log_softmax", same=close),
           f"F.log_softmax(scores, dim={dim})",
           found if not isinstance(found, torch.Tensor) else f"shape {tuple(found.shape)}, other values")


def test_log_softmax_stays_finite_for_large_scores(learner):
    """log_softmax stays finite for scores of ±1000"""
    scores = torch.tensor([[1000.0, 0.0, -1000.0], [1000.0, 999.0, 998.0], [-1000.0, -1001.0, -999.0]])
    expected = F.log_softmax(scores, dim=1)
    found = log_softmax(learner, scores, 1)
    if close(found, expected, 1e-4):
        return
    finite = isinstance(found, torch.Tensor) and bool(torch.isfinite(found).all())
    # exp(-1000) is 0 in floating point: the log of a softmax is then -inf although the max was subtracted
    underflow = isinstance(found, torch.Tensor) and bool((found.isfinite() | (found == -math.inf)).all())
    otherwise = "log_softmax" if finite else "log_underflow" if underflow else "max_subtracted"
    rows = torch.arange(len(scores)).view(-1, 1)
    note = telling(found, expected, [(f"row {row + 1}, {scores[row].int().tolist()},", rows == row)
                                     for row in range(len(scores))], atol=1e-4)
    expect(False, likeliest(found, log_softmax_mistakes(scores, 1), otherwise, same=close),
           f"finite log-probabilities: {rounded(expected)}",
           f"{rounded(found) if isinstance(found, torch.Tensor) else found}{note}")


def rounded(values: torch.Tensor) -> list:
    """``values`` as nested lists of numbers with four significant digits, for a message."""
    return [rounded(row) for row in values] if values.dim() else float(f"{values.item():.4g}")


@pytest.mark.parametrize("batch, classes", [(8, 10), (5, 3), (1, 10), (64, 10)], ids=str)
def test_cross_entropy_equals_torchs(learner, batch, classes):
    """cross_entropy gives F.cross_entropy's loss: the mean over the batch"""
    generator = torch.Generator().manual_seed(batch * classes)
    scores = 2 * torch.randn(batch, classes, generator=generator)
    targets = torch.randint(0, classes, (batch,), generator=generator)
    expected = F.cross_entropy(scores, targets)
    found = cross_entropy(learner, scores, targets)
    found_value = scalar(found)
    if found_value is not None and math.isclose(found_value, expected.item(), rel_tol=1e-5, abs_tol=1e-6):
        return
    log_probabilities = F.log_softmax(scores, dim=1)
    mistakes = [("mean", lambda: F.cross_entropy(scores, targets, reduction="sum").item()),
                ("mean", lambda: F.cross_entropy(scores, targets, reduction="none")),
                ("sign", lambda: -expected.item()),
                ("right_class", lambda: -log_probabilities[:, targets].mean().item()),
                ("right_class", lambda: -log_probabilities[:, targets].mean(dim=0)),
                ("right_class", lambda: -log_probabilities.mean().item())]
    expect(False, likeliest(found, mistakes, otherwise="cross_entropy"),
           f"F.cross_entropy's loss {expected.item():.4f} (a scalar)",
           found_value if found_value is not None else describe(found))


def scalar(found) -> float | None:
    """A loss as a number, whether it came back as a one-element tensor or a plain number."""
    if isinstance(found, torch.Tensor) and found.numel() == 1 or isinstance(found, (int, float)):
        return float(found)
    return None


def describe(found) -> str:
    return f"shape {tuple(found.shape)}" if isinstance(found, torch.Tensor) else f"a {type(found).__name__}"


def test_cross_entropy_stays_finite_for_large_scores(learner):
    """cross_entropy stays finite when the model is sure, and wrong, with scores of ±1000"""
    scores = torch.tensor([[1000.0, -1000.0, 0.0], [0.0, 1000.0, -1000.0]])
    targets = torch.tensor([1, 1])
    found = cross_entropy(learner, scores, targets)
    expected = F.cross_entropy(scores, targets).item()
    value = scalar(found)
    value = float("nan") if value is None else value
    expect(math.isclose(value, expected, rel_tol=1e-4), "cross_entropy" if math.isfinite(value) else "max_subtracted",
           f"{expected:.1f}", value)


def test_written_by_hand(learner):
    """log_softmax and cross_entropy compute everything themselves, without F.log_softmax or F.cross_entropy"""
    scores, targets = torch.randn(4, 10), torch.tensor([1, 2, 3, 4])
    with library_use() as used:
        log_softmax(learner, scores, 1)
        cross_entropy(learner, scores, targets)
    borrowed = library_borrowed(used, "losses")
    expect(not borrowed, "own_loss", "no PyTorch softmax or loss inside your functions",
           f"PyTorch's {', '.join(borrowed)}")


@pytest.mark.parametrize("classes", [10, 2, 3, 100])
def test_the_double_softmax_floor_is_computed(learner, classes):
    """the lowest double-softmax loss is computed for any number of classes (1.4612 for 10)"""
    expected = math.log(math.e + classes - 1) - 1
    with learner.running("floor"):
        value = float(learner.get("losses", "double_softmax_floor")(classes))
    typed = classes != 10 and math.isclose(value, math.log(math.e + 9) - 1, rel_tol=1e-3)
    expect(math.isclose(value, expected, rel_tol=1e-4), "floor_typed" if typed else "floor",
           f"{expected:.4f} for {classes} classes", f"{value:.4f}")
