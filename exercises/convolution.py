"""Convolution and max-pooling written out, as ``F.conv2d`` and ``F.max_pool2d`` compute them (exercise 2).

Both slide a window over the image. A convolution multiplies the window by a kernel
and adds everything up; max-pooling keeps the window's largest value. Neither flips
the kernel: what deep learning calls convolution is, strictly, cross-correlation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """How many positions a window of ``kernel_size`` takes along a side of ``size`` pixels.

    The side is first padded by ``padding`` pixels at both ends; the window then
    moves ``stride`` pixels at a time and never hangs over the edge:
    ``(size + 2 * padding - kernel_size) // stride + 1``.
    """
    # Exercise 2: your code here (hints: python -m grader hint 2)
    raise NotImplementedError("Exercise 2 (Convolution and pooling by hand) is not started yet: write your code here. Read lessons/02-convolutions-and-pooling.md, then check it with: pytest exercises/ -m ex2")


def conv2d(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
           stride: int = 1, padding: int = 0) -> torch.Tensor:
    """``F.conv2d`` for square strides and paddings, written with a view of every window and one product.

    Args:
        input: images ``(N, C_in, H, W)``.
        weight: kernels ``(C_out, C_in, kH, kW)``.
        bias: one number per output channel ``(C_out,)``, or ``None``.
        stride: how far the window moves between positions, in both directions.
        padding: zeros added on every side before sliding.

    Returns:
        ``(N, C_out, H_out, W_out)``, with ``H_out = conv_output_size(H, kH, stride, padding)``.
    """
    # Exercise 2: your code here (hints: python -m grader hint 2)
    raise NotImplementedError("Exercise 2 (Convolution and pooling by hand) is not started yet: write your code here. Read lessons/02-convolutions-and-pooling.md, then check it with: pytest exercises/ -m ex2")


def max_pool2d(input: torch.Tensor, kernel_size: int, stride: int | None = None) -> torch.Tensor:
    """``F.max_pool2d`` without padding: the largest value of each ``kernel_size`` window.

    ``stride`` defaults to ``kernel_size``, so that the windows tile the image
    without overlapping; windows that would hang over the edge are left out.
    """
    # Exercise 2: your code here (hints: python -m grader hint 2)
    raise NotImplementedError("Exercise 2 (Convolution and pooling by hand) is not started yet: write your code here. Read lessons/02-convolutions-and-pooling.md, then check it with: pytest exercises/ -m ex2")
