"""Checks of exercise 2, convolution and pooling by hand (exercises/convolution.py)."""

import pytest
import torch
import torch.nn.functional as F

from grader.checks import expect, library_use
from grader.tracing import borrowed as library_borrowed

pytestmark = pytest.mark.ex2

# (batch, in channels, out channels, height, width, kernel height, kernel width, stride, padding)
CONVOLUTIONS = [(2, 1, 3, 8, 8, 3, 3, 1, 0), (3, 4, 2, 9, 11, 3, 3, 1, 0), (2, 3, 5, 10, 7, 2, 4, 1, 0),
                (2, 2, 3, 11, 9, 3, 3, 2, 0), (1, 3, 2, 12, 12, 5, 5, 3, 0), (2, 2, 4, 7, 8, 3, 3, 1, 1),
                (2, 3, 2, 6, 9, 3, 2, 2, 2), (4, 1, 10, 28, 28, 5, 5, 1, 0)]


def random_case(case, seed: int):
    batch, channels_in, channels_out, height, width, kernel_height, kernel_width, stride, padding = case
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(batch, channels_in, height, width, generator=generator)
    weight = torch.randn(channels_out, channels_in, kernel_height, kernel_width, generator=generator)
    bias = torch.randn(channels_out, generator=generator)
    return images, weight, bias, stride, padding


def learner_conv2d(learner, images, weight, bias, stride, padding, hint="conv"):
    with learner.running(hint):
        return learner.get("convolution", "conv2d")(images, weight, bias, stride=stride, padding=padding)


def conv_diagnosis(images, weight, bias, stride, padding, found) -> str:
    """The hint for a convolution that differs from F.conv2d: the likeliest mistake first."""
    expected_shape = F.conv2d(images, weight, bias, stride, padding).shape
    def same(expected):
        return matches(found, expected)

    if same(F.conv2d(images, weight.flip(-2, -1), bias, stride, padding)):
        return "flipped_kernel"
    without_bias = F.conv2d(images, weight, None, stride, padding)
    kernel_area = weight.shape[2] * weight.shape[3]
    if same(without_bias) or bias is not None and same(without_bias + kernel_area * bias.view(1, -1, 1, 1)):
        return "bias"
    unstrided = F.conv2d(images, weight, bias, 1, padding)
    if stride > 1 and (same(unstrided) or isinstance(found, torch.Tensor) and found.dim() == 4
                       and same(unstrided[:, :, : found.shape[2], : found.shape[3]])):
        return "stride"
    one_sided = [(0, padding, 0, padding), (padding, 0, padding, 0), (padding, padding, 0, 0), (0, 0, padding, padding)]
    if padding and (same(F.conv2d(images, weight, bias, stride, 0))
                    or any(same(F.conv2d(F.pad(images, sides), weight, bias, stride)) for sides in one_sided)):
        return "padding"
    if padding and isinstance(found, torch.Tensor) and found.dim() == 4 and found.shape[:2] == expected_shape[:2] \
            and found.shape[2:] != expected_shape[2:]:
        return "padding"
    return "conv"


def matches(found, expected, atol: float = 1e-4) -> bool:
    """Whether ``found`` holds ``expected``'s values, in whatever floating-point type."""
    return (isinstance(found, torch.Tensor) and found.shape == expected.shape
            and torch.allclose(found.to(expected.dtype), expected, atol=atol))


def size_formula_is_wrong(learner, sides, kernel, stride: int, padding: int, output_sides) -> bool:
    """Whether the learner's own conv_output_size miscounts this case: then a wrong output shape follows from it."""
    try:
        size = learner.get("convolution", "conv_output_size")
        counted = [size(side, k, stride=stride, padding=padding) for side, k in zip(sides, kernel)]
    except Exception:  # noqa: BLE001 - an unwritten or broken formula is reported by its own check
        return False
    return counted != list(output_sides)


def describe(tensor) -> str:
    if not isinstance(tensor, torch.Tensor):
        return f"a {type(tensor).__name__}, not a tensor"
    return f"shape {tuple(tensor.shape)}"


@pytest.mark.parametrize("case", CONVOLUTIONS, ids=lambda case: "{}x{}_k{}x{}_s{}_p{}".format(*case[3:]))
def test_conv2d_equals_torchs(learner, case):
    """conv2d gives F.conv2d's output for batches, channels, kernels, strides and paddings"""
    images, weight, bias, stride, padding = random_case(case, seed=sum(case))
    expected = F.conv2d(images, weight, bias, stride=stride, padding=padding)
    found = learner_conv2d(learner, images, weight, bias, stride, padding)
    shape_right = isinstance(found, torch.Tensor) and found.shape == expected.shape
    right = matches(found, expected)
    difference = (f"a largest difference of {(found.to(expected.dtype) - expected).abs().max().item():.3g}"
                  if shape_right else describe(found))
    if not shape_right and size_formula_is_wrong(learner, images.shape[2:], weight.shape[2:], stride, padding,
                                                 expected.shape[2:]):
        expect(False, "size_formula_used", f"shape {tuple(expected.shape)}, as your conv_output_size should count it",
               difference)
    expect(right, conv_diagnosis(images, weight, bias, stride, padding, found),
           f"F.conv2d's output, shape {tuple(expected.shape)}, stride {stride}, padding {padding}", difference)


def test_conv2d_without_bias(learner):
    """conv2d with bias=None adds nothing"""
    images, weight, _, stride, padding = random_case(CONVOLUTIONS[1], seed=5)
    found = learner_conv2d(learner, images, weight, None, stride, padding, hint="bias")
    expected = F.conv2d(images, weight)
    if matches(found, expected):
        return
    shape_right = isinstance(found, torch.Tensor) and found.shape == expected.shape
    expect(False, "bias" if shape_right else conv_diagnosis(images, weight, None, stride, padding, found),
           "F.conv2d's output without a bias",
           f"a largest difference of {(found.to(expected.dtype) - expected).abs().max().item():.3g}" if shape_right
           else describe(found))


def test_conv2d_is_written_by_hand(learner):
    """conv2d slides the kernel itself, without F.conv2d or nn.Conv2d"""
    images, weight, bias, stride, padding = random_case(CONVOLUTIONS[6], seed=3)
    with library_use() as used:
        learner_conv2d(learner, images, weight, bias, stride, padding)
    borrowed = library_borrowed(used, "conv2d")
    expect(not borrowed, "own_conv", "no PyTorch convolution inside conv2d", f"PyTorch's {', '.join(borrowed)}")


@pytest.mark.parametrize("case", [(28, 5, 1, 0), (12, 5, 1, 0), (24, 2, 2, 0), (28, 3, 2, 0), (7, 3, 2, 1),
                                  (10, 4, 3, 2), (5, 5, 1, 2), (9, 1, 4, 0)], ids=str)
def test_output_size_formula(learner, case):
    """conv_output_size counts the positions F.conv2d takes"""
    size, kernel_size, stride, padding = case
    expected = F.conv2d(torch.zeros(1, 1, size, size), torch.zeros(1, 1, kernel_size, kernel_size),
                        stride=stride, padding=padding).shape[-1]
    with learner.running("output_size"):
        found = learner.get("convolution", "conv_output_size")(size, kernel_size, stride=stride, padding=padding)
    hint = "output_size_padding" if padding and found == (size + padding - kernel_size) // stride + 1 \
        and found != expected - 1 else "output_size"
    expect(found == expected, hint,
           f"{expected} positions for a side of {size}, kernel {kernel_size}, stride {stride}, padding {padding}",
           found)


POOLS = [(2, 3, 8, 8, 2, None), (2, 3, 9, 7, 2, None), (1, 2, 9, 9, 3, None), (2, 2, 8, 8, 3, 1), (2, 1, 10, 10, 2, 3),
         (3, 10, 24, 24, 2, None)]


@pytest.mark.parametrize("case", POOLS, ids=lambda case: "{}x{}_k{}_s{}".format(*case[2:]))
def test_max_pool2d_equals_torchs(learner, case):
    """max_pool2d gives F.max_pool2d's output, overlapping windows and leftover edges included"""
    batch, channels, height, width, kernel_size, stride = case
    images = torch.randn(batch, channels, height, width, generator=torch.Generator().manual_seed(height * width))
    expected = F.max_pool2d(images, kernel_size, stride)
    with learner.running("pool"):
        found = learner.get("convolution", "max_pool2d")(images, kernel_size, stride)
    shape_right = isinstance(found, torch.Tensor) and found.shape == expected.shape
    if matches(found, expected, atol=1e-6):
        return
    if not shape_right and size_formula_is_wrong(learner, images.shape[2:], (kernel_size, kernel_size),
                                                 stride or kernel_size, 0, expected.shape[2:]):
        hint = "size_formula_used"
    elif stride is None and isinstance(found, torch.Tensor) and found.shape == F.max_pool2d(images, kernel_size, 1).shape:
        hint = "pool_stride"
    elif matches(found, F.avg_pool2d(images, kernel_size, stride), atol=1e-5):
        hint = "pool_max"
    elif not shape_right:
        hint = "pool_stride" if stride is not None else "pool_shape"
    else:
        hint = "pool"
    expect(False, hint, f"F.max_pool2d's output, shape {tuple(expected.shape)}, kernel {kernel_size}, stride {stride}",
           describe(found) if not shape_right else "other values")


def test_max_pool2d_is_written_by_hand(learner):
    """max_pool2d takes each window's maximum itself, without F.max_pool2d or nn.MaxPool2d"""
    images = torch.randn(2, 3, 8, 8)
    with library_use() as used, learner.running("pool"):
        learner.get("convolution", "max_pool2d")(images, 2)
    borrowed = library_borrowed(used, "max_pool2d")
    expect(not borrowed, "own_pool", "no PyTorch pooling inside max_pool2d", f"PyTorch's {', '.join(borrowed)}")
