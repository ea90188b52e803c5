"""Checks of exercise 4, softmax and cross-entropy by hand (exercises/losses.py)."""

import math

import pytest
import torch
import torch.nn.functional as F

from grader.checks import expect, library_use
from grader.tracing import borrowed as library_borrowed

pytestmark = pytest.mark.ex4


def log_softmax(learner, scores, dim):
    with learner.running("log_softmax"):
        return learner.get("losses", "log_softmax")(scores, dim=dim)


def cross_entropy(learner, scores, targets):
    with learner.running("cross_entropy"):
        return learner.get("losses", "cross_entropy")(scores, targets)


def close(found, expected, tolerance=1e-5) -> bool:
    return (isinstance(found, torch.Tensor) and found.shape == expected.shape
            and torch.allclose(found.double(), expected.double(), atol=tolerance, rtol=tolerance))


@pytest.mark.parametrize("shape, dim", [((5, 10), 1), ((4, 7), -1), ((6, 3), 0), ((2, 3, 4), 1)], ids=str)
def test_log_softmax_equals_torchs(learner, shape, dim):
    """log_softmax gives F.log_softmax's values along the dimension asked for"""
    scores = 3 * torch.randn(*shape, generator=torch.Generator().manual_seed(len(shape) + dim))
    expected = F.log_softmax(scores, dim=dim)
    found = log_softmax(learner, scores, dim)
    if close(found, expected):
        return
    other_dims = [F.log_softmax(scores, dim=other) for other in range(scores.dim()) if other != dim % scores.dim()]
    hint = "dim" if any(close(found, candidate) for candidate in other_dims) else "log_softmax"
    if close(found, F.softmax(scores, dim=dim)):
        hint = "log_of_softmax"
    expect(False, hint, f"F.log_softmax(scores, dim={dim})",
           found if not isinstance(found, torch.Tensor) else f"shape {tuple(found.shape)}, other values")


def test_log_softmax_stays_finite_for_large_scores(learner):
    """log_softmax stays finite for scores of ±1000"""
    scores = torch.tensor([[1000.0, 0.0, -1000.0], [1000.0, 999.0, 998.0], [-1000.0, -1001.0, -999.0]])
    found = log_softmax(learner, scores, 1)
    finite = isinstance(found, torch.Tensor) and bool(torch.isfinite(found).all())
    # exp(-1000) is 0 in floating point: the log of a softmax is then -inf although the max was subtracted
    underflow = isinstance(found, torch.Tensor) and bool((found.isfinite() | (found == -math.inf)).all())
    expect(finite, "log_underflow" if underflow else "max_subtracted",
           "finite log-probabilities such as [0, -1000, -2000]",
           found.tolist() if isinstance(found, torch.Tensor) else found)
    expect(close(found, F.log_softmax(scores, dim=1), 1e-4), "log_softmax",
           "F.log_softmax's values", found.tolist())


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
    if found_value is not None and batch > 1 and math.isclose(found_value, batch * expected.item(), rel_tol=1e-5):
        hint = "mean"
    elif found_value is not None and math.isclose(found_value, -expected.item(), rel_tol=1e-5):
        hint = "sign"
    elif isinstance(found, torch.Tensor) and found.numel() == batch and batch > 1:
        hint = "mean"
    else:
        hint = "cross_entropy"
    expect(False, hint, f"F.cross_entropy's loss {expected.item():.4f} (a scalar)",
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
