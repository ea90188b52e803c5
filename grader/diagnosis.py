"""Which mistake a wrong answer comes from: the diagnosis every concept exercise's checks share.

A check that finds a wrong answer computes, on the same inputs, the answers the likeliest
mistakes give, and names the first one the learner's answer equals. When none does, the
check's generic hint stands, with what is telling about where the answer is wrong: "only
where the window reaches into the padding", "only row 3".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

#: A likely mistake: its hint key, and how to compute the answer it gives on the check's inputs.
Mistake = tuple[str, Callable[[], Any]]
#: A part of an answer worth naming: how to describe it, and a mask of the answer's shape (True inside).
Region = tuple[str, torch.Tensor]


def agrees(found: Any, expected: Any, atol: float = 1e-5, rtol: float = 1e-5) -> bool:
    """Whether ``found`` holds ``expected``'s values: tensors of its shape in any floating-point type,
    numbers, or tuples and lists of them. ``None`` in ``expected`` stands for anything; infinities
    and NaNs agree with themselves, since a mistake's answer often holds them."""
    if expected is None:
        return True
    if isinstance(expected, torch.Tensor):
        return (isinstance(found, torch.Tensor) and found.shape == expected.shape
                and torch.allclose(found.to(expected.dtype), expected, atol=atol, rtol=rtol, equal_nan=True))
    if isinstance(expected, (tuple, list)):
        return (isinstance(found, (tuple, list)) and len(found) == len(expected)
                and all(agrees(mine, theirs, atol, rtol) for mine, theirs in zip(found, expected)))
    number = _number(found)
    if number is None:
        return False
    if math.isnan(expected):
        return math.isnan(number)
    return math.isclose(number, expected, rel_tol=rtol, abs_tol=atol)


def _number(value: Any) -> float | None:
    if isinstance(value, torch.Tensor) and value.numel() == 1 or isinstance(value, (int, float)):
        return float(value)
    return None


def likeliest(found: Any, mistakes: Iterable[Mistake], otherwise: str,
              same: Callable[[Any, Any], bool] = agrees) -> str:
    """The hint of the first mistake whose answer ``found`` is (``same``), or ``otherwise``.

    The mistakes' answers are computed one at a time, and only until one matches. A mistake
    whose answer cannot be computed for these inputs is not the one."""
    for hint, answer in mistakes:
        try:
            candidate = answer()
        except Exception:  # noqa: BLE001, S112 - e.g. a size that mistake cannot even produce here
            continue
        if same(found, candidate):
            return hint
    return otherwise


def telling(found: Any, expected: torch.Tensor, regions: Iterable[Region], atol: float = 1e-5) -> str:
    """``"; only <region> differ (k of n values)"`` for the first region that holds every wrong value
    of ``found`` but not every value; ``""`` when none does, or ``found`` is not shaped like ``expected``."""
    if not isinstance(found, torch.Tensor) or found.shape != expected.shape:
        return ""
    wrong = ~torch.isclose(found.to(expected.dtype), expected, atol=atol, equal_nan=True)
    if not wrong.any():
        return ""
    for description, region in regions:
        region = region.expand_as(wrong)
        if not region.all() and not wrong[~region].any():
            return f"; only {description} differ ({int(wrong.sum())} of {wrong.numel()} values)"
    return ""
