"""Checks of exercise 2, convolution and pooling by hand (exercises/convolution.py)."""

import math

import pytest
import torch
import torch.nn.functional as F

from grader.checks import CheckFailed, expect, library_use
from grader.diagnosis import agrees, likeliest, telling
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
    """The learner's conv2d on these inputs; when it raises, the failure names the part that is the likely cause."""
    try:
        with learner.running(hint):
            return learner.get("convolution", "conv2d")(images, weight, bias, stride=stride, padding=padding)
    except CheckFailed as failure:
        output_sides = F.conv2d(images, weight, bias, stride, padding).shape[2:]
        raise CheckFailed(failing_part(learner, images, weight, bias, stride, padding, output_sides, failure),
                          failure.expected, failure.found) from failure


def conv_diagnosis(images, weight, bias, stride, padding, found) -> tuple[str, str]:
    """The hint for a convolution that differs from F.conv2d, and what is telling about where it differs."""
    expected = F.conv2d(images, weight, bias, stride, padding)

    def conv(images=images, weight=weight, bias=bias, stride=stride, padding=padding):
        return F.conv2d(images, weight, bias, stride, padding)

    def cropped(answer):  # a window that moves too few pixels, over as many positions as the learner counted
        return answer[:, :, : found.shape[2], : found.shape[3]]

    kernel_area = weight.shape[2] * weight.shape[3]
    one_sided = [(0, padding, 0, padding), (padding, 0, padding, 0), (padding, padding, 0, 0), (0, 0, padding, padding)]
    mistakes = [
        ("flipped_kernel", lambda: conv(weight=weight.flip(-2, -1))),
        ("transposed_kernel", lambda: conv(weight=weight.transpose(-2, -1))),
        ("bias", lambda: conv(bias=None)),
        ("bias", lambda: conv() + (kernel_area - 1) * bias.view(1, -1, 1, 1)),
        ("stride", lambda: conv(stride=1)),
        *[("stride", lambda strides=strides: cropped(conv(stride=strides))) for strides in (1, (stride, 1), (1, stride))],
        ("padding", lambda: conv(padding=0)),
        *[("padding", lambda sides=sides: conv(images=F.pad(images, sides), padding=0)) for sides in one_sided],
    ]
    hint = likeliest(found, mistakes, otherwise="conv")
    padded = padded_outputs(images.shape[2:], weight.shape[2:], stride, padding)
    note = telling(found, expected, [("the outputs whose window reaches into the padding", padded)], atol=1e-4)
    if hint == "conv" and padding and (note or isinstance(found, torch.Tensor) and found.dim() == 4
                                       and found.shape[:2] == expected.shape[:2] and found.shape[2:] != expected.shape[2:]):
        hint = "padding"
    return hint, note


def padded_outputs(sides, kernel, stride: int, padding: int) -> torch.Tensor:
    """Which outputs of a convolution read some padding: True where the window reaches over the image's edge."""
    border = F.pad(torch.zeros(1, 1, *sides), (padding,) * 4, value=1.0)
    return F.conv2d(border, torch.ones(1, 1, *kernel), stride=stride) > 0


def failing_part(learner, images, weight, bias, stride: int, padding: int, output_sides, failure: CheckFailed) -> str:
    """Why conv2d raised: the size formula it relies on, the bias it adds, or (unknown) the failure's own hint."""
    if size_formula_is_wrong(learner, images.shape[2:], weight.shape[2:], stride, padding, output_sides):
        return "size_formula_used"
    try:
        without_bias = learner.get("convolution", "conv2d")(images, weight, None, stride=stride, padding=padding)
    except Exception:  # noqa: BLE001 - it fails without a bias too: the bias is not the cause
        return failure.hint
    return "bias" if bias is not None and matches(without_bias, F.conv2d(images, weight, None, stride, padding)) \
        else failure.hint


def matches(found, expected, atol: float = 1e-4) -> bool:
    """Whether ``found`` holds ``expected``'s values, in whatever floating-point type."""
    return isinstance(found, torch.Tensor) and agrees(found, expected, atol=atol, rtol=1e-5)


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
    if matches(found, expected):
        return
    difference = (f"a largest difference of {(found.to(expected.dtype) - expected).abs().max().item():.3g}"
                  if shape_right else describe(found))
    if not shape_right and size_formula_is_wrong(learner, images.shape[2:], weight.shape[2:], stride, padding,
                                                 expected.shape[2:]):
        expect(False, "size_formula_used", f"shape {tuple(expected.shape)}, as your conv_output_size should count it",
               difference)
    hint, note = conv_diagnosis(images, weight, bias, stride, padding, found)
    expect(False, hint, f"F.conv2d's output, shape {tuple(expected.shape)}, stride {stride}, padding {padding}",
           difference + note)


def test_conv2d_without_bias(learner):
    """conv2d with bias=None adds nothing"""
    images, weight, _, stride, padding = random_case(CONVOLUTIONS[1], seed=5)
    found = learner_conv2d(learner, images, weight, None, stride, padding, hint="bias")
    expected = F.conv2d(images, weight)
    if matches(found, expected):
        return
    shape_right = isinstance(found, torch.Tensor) and found.shape == expected.shape
    expect(False, "bias" if shape_right else conv_diagnosis(images, weight, None, stride, padding, found)[0],
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


# 12.5, 3.5 and 2.67 positions before rounding: floor, round() and ceil each count one of them differently
@pytest.mark.parametrize("case", [(28, 5, 1, 0), (12, 5, 1, 0), (24, 2, 2, 0), (28, 3, 2, 0), (7, 3, 2, 1),
                                  (10, 4, 3, 2), (5, 5, 1, 2), (9, 1, 4, 0), (10, 3, 2, 0), (11, 3, 3, 0)], ids=str)
def test_output_size_formula(learner, case):
    """conv_output_size counts the positions F.conv2d takes"""
    size, kernel_size, stride, padding = case
    expected = F.conv2d(torch.zeros(1, 1, size, size), torch.zeros(1, 1, kernel_size, kernel_size),
                        stride=stride, padding=padding).shape[-1]
    with learner.running("output_size"):
        found = learner.get("convolution", "conv_output_size")(size, kernel_size, stride=stride, padding=padding)
    positions = (size + 2 * padding - kernel_size) / stride  # before rounding down
    mistakes = [("output_size_rounding", lambda: round(positions) + 1),
                ("output_size_rounding", lambda: math.ceil(positions) + 1),
                ("output_size_padding", lambda: (size + padding - kernel_size) // stride + 1)]
    hint = likeliest(found, mistakes, otherwise="output_size", same=lambda mine, theirs: mine == theirs)
    expect(found == expected, hint,
           f"{expected} positions for a side of {size}, kernel {kernel_size}, stride {stride}, padding {padding}"
           f" ({size + 2 * padding - kernel_size} / {stride} = {positions:.3g} steps, rounded down, + 1)", found)


def test_defaults_are_pytorchs(learner):
    """called without them, stride is 1 and padding 0 (conv2d: no bias); max_pool2d's stride is its kernel size"""
    images, weight, _, _, _ = random_case(CONVOLUTIONS[0], seed=7)
    size, conv2d, max_pool2d = (learner.get("convolution", name)
                                for name in ("conv_output_size", "conv2d", "max_pool2d"))
    calls = [("conv_output_size(10, 3)", lambda: size(10, 3), lambda: size(10, 3, stride=1, padding=0)),
             ("conv2d(images, weight)", lambda: conv2d(images, weight),
              lambda: conv2d(images, weight, None, stride=1, padding=0)),
             ("max_pool2d(images, 2)", lambda: max_pool2d(images, 2), lambda: max_pool2d(images, 2, 2))]
    for call, defaults, spelled_out in calls:
        with learner.running("defaults"):
            found, expected = defaults(), spelled_out()
        expect(agrees(found, expected, atol=0, rtol=0), "defaults", f"{call} to give what it gives with the defaults "
               f"spelled out, {expected if isinstance(expected, int) else describe(expected)}",
               found if isinstance(found, int) or describe(found) != describe(expected) else "other values")


POOLS = [(2, 3, 8, 8, 2, None), (2, 3, 9, 7, 2, None), (1, 2, 9, 9, 3, None), (2, 2, 8, 8, 3, 1), (2, 1, 10, 10, 2, 3),
         (3, 10, 24, 24, 2, None)]


@pytest.mark.parametrize("case", POOLS, ids=lambda case: "{}x{}_k{}_s{}".format(*case[2:]))
def test_max_pool2d_equals_torchs(learner, case):
    """max_pool2d gives F.max_pool2d's output, overlapping windows and leftover edges included"""
    batch, channels, height, width, kernel_size, stride = case
    images = torch.randn(batch, channels, height, width, generator=torch.Generator().manual_seed(height * width))
    expected = F.max_pool2d(images, kernel_size, stride)
    try:
        with learner.running("pool"):
            found = learner.get("convolution", "max_pool2d")(images, kernel_size, stride)
    except CheckFailed as failure:
        if not size_formula_is_wrong(learner, images.shape[2:], (kernel_size, kernel_size), stride or kernel_size, 0,
                                     expected.shape[2:]):
            raise
        raise CheckFailed("size_formula_used", failure.expected, failure.found) from failure
    shape_right = isinstance(found, torch.Tensor) and found.shape == expected.shape
    if matches(found, expected, atol=1e-6):
        return
    smallest = -F.max_pool2d(-images, kernel_size, stride)  # each window's smallest value, for the largest in size
    mistakes = [("pool_stride", lambda: F.max_pool2d(images, kernel_size, 1)),
                ("pool_stride", lambda: F.max_pool2d(images, kernel_size)),
                ("pool_max", lambda: F.avg_pool2d(images, kernel_size, stride)),
                ("pool_max", lambda: F.max_pool2d(images.abs(), kernel_size, stride)),
                ("pool_max", lambda: torch.where(smallest.abs() > expected.abs(), smallest, expected)),
                ("pool_shape", lambda: F.max_pool2d(images, kernel_size, stride, ceil_mode=True))]
    note = telling(found, expected, [("the windows whose largest value is negative", expected < 0)], atol=1e-6)
    if not shape_right and size_formula_is_wrong(learner, images.shape[2:], (kernel_size, kernel_size),
                                                 stride or kernel_size, 0, expected.shape[2:]):
        hint = "size_formula_used"
    elif not shape_right:
        more_windows = (isinstance(found, torch.Tensor) and found.dim() == 4
                        and all(mine > theirs for mine, theirs in zip(found.shape[2:], expected.shape[2:])))
        hint = likeliest(found, mistakes, otherwise="pool_stride" if stride is not None and not more_windows
                         else "pool_shape", same=lambda mine, theirs: describe(mine) == describe(theirs))
    else:
        hint = likeliest(found, mistakes, otherwise="pool")
    expect(False, hint, f"F.max_pool2d's output, shape {tuple(expected.shape)}, kernel {kernel_size}, stride {stride}",
           describe(found) if not shape_right else "other values" + note)


def test_max_pool2d_is_written_by_hand(learner):
    """max_pool2d takes each window's maximum itself, without F.max_pool2d or nn.MaxPool2d"""
    images = torch.randn(2, 3, 8, 8)
    with library_use() as used, learner.running("pool"):
        learner.get("convolution", "max_pool2d")(images, 2)
    borrowed = library_borrowed(used, "max_pool2d")
    expect(not borrowed, "own_pool", "no PyTorch pooling inside max_pool2d", f"PyTorch's {', '.join(borrowed)}")
