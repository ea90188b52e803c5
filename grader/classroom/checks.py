"""The class checks: questions on inputs made here, in the trusted process, and how answers are judged.

One list of checks serves both sets: :func:`class_checks` with the public seed asks what the
released checks ask, and with a secret seed asks the same questions on other shapes, sizes,
seeds and images. Hidden inputs exist only here until they are asked; what the reference
answers is computed here too, by running the same procedure on ``solutions``.
"""

from __future__ import annotations

import math
import random
import reprlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import solutions
import solutions.model

from ..tracing import borrowed
from . import questions

PUBLIC_SEED = 2026
REFERENCE = questions.Course("solutions")
END_TO_END_THRESHOLD = 95.0  # percent after one epoch of the fast recipe, as the released ex10 check asks


@dataclass(frozen=True)
class Check:
    """One question to the submission and how its answer is judged.

    ``judge(found, wanted)`` returns ``None`` when the answer is right, else what was found, in a few
    words; ``wanted`` is the reference's answer to the same question, or ``None`` for a check that
    judges against a fixed goal.
    """

    exercise: int
    name: str
    procedure: str
    inputs: dict
    hint: str
    expected: str
    judge: Callable[[object, object], str | None]
    hidden: bool = False
    reference: bool = True  # whether the reference's answer is computed to judge against
    time_factor: int = 1  # times the time per question it may take: training end to end gets 10

    def ask_reference(self) -> object:
        """The reference's answer, computed here, with the same random state the worker starts from."""
        if not self.reference:
            return None
        with torch.random.fork_rng():
            torch.manual_seed(0)
            return getattr(questions, self.procedure)(REFERENCE, **self.inputs)


# --- judging answers ------------------------------------------------------------------------------

SHORT = reprlib.Repr()
SHORT.maxlevel, SHORT.maxtuple, SHORT.maxlist, SHORT.maxdict, SHORT.maxstring, SHORT.maxother = 3, 4, 4, 4, 80, 40


def describe(value: object) -> str:
    """A few words for an answer: cut while it is written, however large or deep the answer is."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, str):
        return value[:120]
    return SHORT.repr(value)[:120]


def close_tensors(atol: float = 1e-5, rtol: float = 1e-4) -> Callable[[object, object], str | None]:
    """Right when ``found`` is a tensor of the reference's shape and values (within the tolerances)."""
    def judge(found: object, wanted: torch.Tensor) -> str | None:
        if not isinstance(found, torch.Tensor) or found.shape != wanted.shape:
            return describe(found)
        if not found.is_floating_point() and wanted.is_floating_point():
            found = found.to(wanted.dtype)
        if found.dtype != wanted.dtype and not (found.is_floating_point() and wanted.is_floating_point()):
            return f"a tensor of {found.dtype}, not {wanted.dtype}"
        difference = (found.double() - wanted.double()).abs()
        bound = atol + rtol * wanted.double().abs()
        if not bool((difference <= bound).all()):
            return f"values up to {float(torch.nan_to_num(difference, nan=math.inf).max()):.3g} away"
        return None
    return judge


def same_log_probabilities(atol: float) -> Callable[[object, object], str | None]:
    """Right when ``found`` are the reference's logits up to a constant per row, such as log-probabilities:
    every loss and prediction of the course is the same for both."""
    tensors = close_tensors(atol=atol)

    def judge(found: object, wanted: torch.Tensor) -> str | None:
        if isinstance(found, torch.Tensor) and found.shape == wanted.shape and found.is_floating_point():
            return tensors(F.log_softmax(found.double(), dim=1), F.log_softmax(wanted.double(), dim=1))
        return describe(found)
    return judge


def close_numbers(rel: float = 1e-4, abs_: float = 1e-6) -> Callable[[object, object], str | None]:
    def judge(found: object, wanted: float) -> str | None:
        if isinstance(found, bool) or not isinstance(found, int | float):
            return describe(found)
        return None if math.isclose(found, wanted, rel_tol=rel, abs_tol=abs_) else f"{found:.6g}"
    return judge


def at_most(found: object, wanted: int) -> str | None:
    if isinstance(found, bool) or not isinstance(found, int) or found < 0:
        return describe(found)
    return None if found <= wanted else f"{found} earlier batches kept while reading the next"


def equal(found: object, wanted: object) -> str | None:
    return None if _same(found, wanted) else describe(found)


def _same(found: object, wanted: object) -> bool:
    if isinstance(wanted, list | tuple):
        return isinstance(found, list | tuple) and len(found) == len(wanted) and all(map(_same, found, wanted))
    if isinstance(wanted, torch.Tensor):
        return isinstance(found, torch.Tensor) and found.shape == wanted.shape and torch.equal(found.long(), wanted.long())
    return type(found) is type(wanted) and found == wanted


def each(judge: Callable[[object, object], str | None]) -> Callable[[object, object], str | None]:
    """Right when every item of a list is right, judged one by one against the reference's list."""
    def judge_each(found: object, wanted: list) -> str | None:
        if not isinstance(found, list) or len(found) != len(wanted):
            return f"{describe(found)} where {len(wanted)} answers were asked"
        for index, (one, other) in enumerate(zip(found, wanted)):
            wrong = judge(one, other)
            if wrong:
                return f"answer {index + 1} of {len(wanted)}: {wrong}"
        return None
    return judge_each


def fields(**judges: Callable[[object, object], str | None]) -> Callable[[object, object], str | None]:
    """Right when each named part of a dict answer is right."""
    def judge(found: object, wanted: dict) -> str | None:
        if not isinstance(found, dict):
            return describe(found)
        for name, judge_part in judges.items():
            if name not in found:
                return f"no {name}"
            wrong = judge_part(found[name], wanted[name])
            if wrong:
                return f"{name}: {wrong}"
        return None
    return judge


#: The questions on functions a learner writes by hand, and which of :data:`grader.tracing.DOES_THE_WORK` each is.
BY_HAND = {"conv2d": "conv2d", "max_pool2d": "max_pool2d", "log_softmax": "losses", "cross_entropy": "losses",
           "forward_backward": "forward_backward", "optimiser_steps": "optimisers"}


def not_borrowed(*functions: str) -> Callable[[object, object], str | None]:
    """Right when PyTorch's own version of none of ``functions`` did the work (see :mod:`grader.tracing`)."""
    def judge(found: object, wanted: object) -> str | None:
        if not isinstance(found, list) or not all(isinstance(name, str) for name in found):
            return describe(found)
        names = sorted({name for function in functions for name in borrowed(set(found), function)})
        return f"PyTorch's {', '.join(names)} did the work: write it yourself" if names else None
    return judge


def state_dicts(atol: float = 1e-5) -> Callable[[object, object], str | None]:
    tensors = close_tensors(atol=atol, rtol=1e-4)

    def judge(found: object, wanted: dict) -> str | None:
        if not isinstance(found, dict) or sorted(found) != sorted(wanted):
            return "other parameters" if isinstance(found, dict) else describe(found)
        for name in wanted:
            wrong = tensors(found[name], wanted[name])
            if wrong:
                return f"{name}: {wrong}"
        return None
    return judge


# --- the inputs -----------------------------------------------------------------------------------

@dataclass
class Inputs:
    """Random inputs from one seed: shapes and sizes from ``choose``, tensors from ``generator``."""

    seed: int
    choose: random.Random = field(init=False)
    generator: torch.Generator = field(init=False)

    def __post_init__(self) -> None:
        self.choose = random.Random(self.seed)
        self.generator = torch.Generator().manual_seed(self.seed)

    def normal(self, *shape: int, scale: float = 1.0) -> torch.Tensor:
        return scale * torch.randn(*shape, generator=self.generator)

    def classes(self, count: int, classes: int = 10) -> torch.Tensor:
        return torch.randint(classes, (count,), generator=self.generator)

    def cnn_weights(self) -> dict[str, torch.Tensor]:
        with torch.random.fork_rng():
            torch.manual_seed(self.choose.randrange(1 << 30))
            return {name: tensor.clone() for name, tensor in solutions.model.CNN().state_dict().items()}


def mnist_digits(seed: int, count: int, train: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` MNIST digits from a place chosen by ``seed``: uint8 pixels ``(count, 28, 28)`` and labels."""
    from course.data import load_split

    split = load_split(train=train)
    start = random.Random(seed).randrange(len(split.data) - count)
    return split.data[start:start + count].clone(), split.targets[start:start + count].clone()


def model_input(pixels: torch.Tensor) -> torch.Tensor:
    from course.data import to_model_input

    return to_model_input(pixels, normalize=True)


def batches_of(images: torch.Tensor, labels: torch.Tensor, size: int) -> list[list[torch.Tensor]]:
    return [[chunk, target] for chunk, target in zip(images.split(size), labels.split(size))]


def drawing(pixels: torch.Tensor, choose: random.Random, size: int | None = None) -> torch.Tensor:
    """A digit drawn dark on light paper, somewhere on a canvas wider or taller than a square."""
    size = size or choose.randrange(60, 120)
    digit = Image.fromarray(pixels.numpy()).resize((size, size), Image.Resampling.BILINEAR)
    width, height = choose.randrange(size + 10, 3 * size + 20), choose.randrange(size + 10, 2 * size + 20)
    canvas = Image.new("L", (width, height), 0)
    canvas.paste(digit, (choose.randrange(width - size), choose.randrange(height - size)))
    return torch.from_numpy(255 - np.asarray(canvas).copy())


# --- the checks, exercise by exercise --------------------------------------------------------------

def class_checks(seed: int = PUBLIC_SEED, hidden: bool = False, end_to_end: bool = True) -> list[Check]:
    """Every check, on inputs drawn from ``seed``, in the exercises' order."""
    inputs = Inputs(seed)
    checks = [*_tensors(inputs), *_convolution(inputs), *_model(inputs), *_losses(inputs), *_backprop(inputs),
              *_optimisers(inputs), *_engine(inputs, seed), *_sanity(inputs, seed), *_monitor(inputs)]
    if end_to_end and not hidden:  # one epoch on MNIST answers the same question whatever the seed
        checks.append(Check(10, "one epoch of your own model and loops reaches over 95% on the test set",
                            "trained_weights", {"seed": 1}, "accuracy", "over 95% on the 10,000 test images",
                            judge_end_to_end, reference=False, time_factor=10))
    checks += [*_inference(inputs, seed), *_preprocess(inputs, seed), *_own_parts(inputs, seed)]
    return [Check(**{**check.__dict__, "hidden": hidden}) for check in checks]


def _tensors(inputs: Inputs) -> list[Check]:
    sizes = [inputs.choose.randrange(1, 50) for _ in range(inputs.choose.randrange(3, 7))]
    shift = inputs.choose.uniform(-2, 3)
    batches = [shift + inputs.normal(size, 1, 6, 6, scale=inputs.choose.uniform(0.5, 3)) for size in sizes]
    cases = [[inputs.choose.randrange(1, 70_000), inputs.choose.randrange(1, 600), drop] for drop in (0, 1, 0, 1)]
    batch = inputs.choose.randrange(2, 300)
    cases.append([batch * inputs.choose.randrange(1, 200), batch, 0])  # an exact multiple: no smaller last batch
    return [
        Check(1, f"mean_and_std of {len(sizes)} batches of uneven sizes ({', '.join(map(str, sizes))})",
              "mean_and_std", {"batches": batches}, "statistics",
              "the mean and standard deviation of every pixel, reading one batch at a time",
              fields(statistics=each(close_numbers(rel=1e-4)), **{"batches held": at_most})),
        Check(1, "steps_per_epoch for five data set sizes, batch sizes and drop_last",
              "steps_per_epoch", {"cases": cases}, "last_batch", "len(DataLoader(...)) for each", each(equal)),
    ]


def _convolution(inputs: Inputs) -> list[Check]:
    choose = inputs.choose
    cases = [[choose.randrange(5, 40), choose.randrange(1, 6), choose.randrange(1, 4), choose.randrange(0, 3)]
             for _ in range(6)]
    checks = [Check(2, "conv_output_size for six sizes, kernels, strides and paddings", "conv_output_size",
                    {"cases": cases}, "output_size", "the lesson's formula for each", each(equal))]
    for stride, padding in ((1, 0), (choose.randrange(2, 4), choose.randrange(1, 3))):
        channels, height, width = choose.randrange(1, 5), choose.randrange(8, 16), choose.randrange(8, 16)
        kernel = (choose.randrange(2, 6), choose.randrange(2, 6))
        images, outputs = inputs.normal(choose.randrange(1, 4), channels, height, width), choose.randrange(1, 7)
        weight, bias = inputs.normal(outputs, channels, *kernel), inputs.normal(outputs)
        checks.append(Check(2, f"conv2d on {channels}×{height}×{width} images, a {kernel[0]}×{kernel[1]} kernel, "
                               f"stride {stride}, padding {padding}", "conv2d",
                            {"input": images, "weight": weight, "bias": bias, "stride": stride, "padding": padding},
                            "conv", "F.conv2d's output, computed by your own code",
                            fields(output=close_tensors(atol=1e-4), used=not_borrowed("conv2d"))))
    for kernel_size, stride in ((2, None), (3, choose.randrange(1, 3))):
        images = inputs.normal(2, choose.randrange(1, 4), choose.randrange(7, 14), choose.randrange(7, 14))
        stride_text = "the default stride" if stride is None else f"stride {stride}"
        checks.append(Check(2, f"max_pool2d over {kernel_size}×{kernel_size} windows, {stride_text}, on "
                               f"{'×'.join(map(str, images.shape[1:]))} images", "max_pool2d",
                            {"input": images, "kernel_size": kernel_size, "stride": stride}, "pool",
                            "F.max_pool2d's output, computed by your own code",
                            fields(output=close_tensors(atol=0, rtol=0), used=not_borrowed("max_pool2d"))))
    return checks


def _model(inputs: Inputs) -> list[Check]:
    weights, count = inputs.cnn_weights(), inputs.choose.randrange(2, 9)
    images = inputs.normal(count, 1, 28, 28)
    dropout_seed = inputs.choose.randrange(1 << 30)
    rates = [round(inputs.choose.uniform(0.1, 0.4), 2), round(inputs.choose.uniform(0.6, 0.9), 2)]
    outputs, probabilities = same_log_probabilities(atol=1e-5), close_tensors(atol=1e-5)
    return [
        Check(3, "CNN() has the notebook's layers: conv1, conv2, fc1 and fc2, with their shapes", "cnn_parameters",
              {}, "layers", "parameters shaped like conv1 (10, 1, 5, 5), conv2, fc1 and fc2", equal),
        Check(3, f"with given weights, in eval mode, the outputs of {count} images are the notebook network's",
              "cnn_outputs", {"state": weights, "images": images, "train": False, "seed": 0, "double_softmax": False,
                              "dropout": [0.5, 0.5]},
              "logits", "the reference's logits (or log-probabilities)", outputs),
        Check(3, f"in train mode, dropout drops what the notebook's network drops ({count} images)", "cnn_outputs",
              {"state": weights, "images": images, "train": True, "seed": dropout_seed, "double_softmax": False,
               "dropout": [0.5, 0.5]}, "dropout", "the reference's outputs with the same random draws", outputs),
        Check(3, f"CNN(conv_dropout={rates[0]}, fc_dropout={rates[1]}) drops at those rates, each in its place",
              "cnn_outputs", {"state": weights, "images": images, "train": True, "seed": dropout_seed,
                              "double_softmax": False, "dropout": rates}, "dropout_rates",
              "the reference's outputs with the same random draws", outputs),
        Check(3, "double_softmax=True returns probabilities", "cnn_outputs",
              {"state": weights, "images": images, "train": False, "seed": 0, "double_softmax": True,
               "dropout": [0.5, 0.5]},
              "double_softmax", "the reference's softmax of the logits", probabilities),
        Check(3, "a backward pass reaches every parameter", "cnn_gradients_reach",
              {"images": images, "seed": dropout_seed}, "layers", "no parameter without a gradient", equal),
    ]


def _losses(inputs: Inputs) -> list[Check]:
    choose = inputs.choose
    shape = [choose.randrange(2, 6) for _ in range(choose.randrange(2, 5))]
    rows, classes = choose.randrange(5, 60), choose.randrange(2, 20)
    return [
        Check(4, f"log_softmax of a {'×'.join(map(str, shape))} tensor of large scores over its last dim",
              "log_softmax", {"input": inputs.normal(*shape, scale=300), "dim": -1}, "max_subtracted",
              "F.log_softmax's output, finite", fields(output=close_tensors(atol=1e-4), used=not_borrowed("losses"))),
        Check(4, f"log_softmax over dim 0 of {rows}×{classes} scores", "log_softmax",
              {"input": inputs.normal(rows, classes, scale=3), "dim": 0}, "dim", "F.log_softmax's output",
              fields(output=close_tensors(atol=1e-5), used=not_borrowed("losses"))),
        Check(4, f"cross_entropy of {rows} rows of {classes} classes", "cross_entropy",
              {"input": inputs.normal(rows, classes, scale=4), "target": inputs.classes(rows, classes)}, "mean",
              "F.cross_entropy's mean loss", fields(output=close_numbers(rel=1e-4), used=not_borrowed("losses"))),
        Check(4, "double_softmax_floor for four numbers of classes", "double_softmax_floor",
              {"classes": [10, choose.randrange(2, 5), choose.randrange(5, 50), choose.randrange(50, 1000)]},
              "floor", "log(e + C - 1) - 1 for each C", each(close_numbers(rel=1e-6))),
    ]


def _backprop(inputs: Inputs) -> list[Check]:
    choose = inputs.choose
    samples, features, hidden, classes = (choose.randrange(3, 20) for _ in range(4))
    network = {"inputs": inputs.normal(samples, features).double(),
               "targets": inputs.classes(samples, classes),
               "w1": inputs.normal(hidden, features, scale=0.5).double(), "b1": inputs.normal(hidden).double(),
               "w2": inputs.normal(classes, hidden, scale=0.5).double(), "b2": inputs.normal(classes).double()}
    gradient = close_tensors(atol=1e-8, rtol=1e-6)
    shape = (choose.randrange(1, 5), choose.randrange(1, 5))
    return [
        Check(5, f"forward_backward's loss and gradients ({samples} samples, {features} features, {hidden} hidden "
                 f"units, {classes} classes)", "forward_backward", network, "p_minus_y",
              "the loss and autograd's gradients, without autograd",
              fields(loss=close_numbers(rel=1e-8), w2=gradient, b2=gradient, w1=gradient, b1=gradient,
                     used=not_borrowed("forward_backward"))),
        Check(5, f"numerical_gradient of a smooth function at a {shape[0]}×{shape[1]} point", "numerical_gradient",
              {"weights": inputs.normal(*shape).double(), "input": inputs.normal(*shape).double(),
               "eps": round(choose.uniform(1e-4, 1e-3), 6)},
              "central", "central differences with this eps, and the point put back as it was",
              fields(gradient=close_tensors(atol=1e-9, rtol=1e-7), input_after=close_tensors(atol=0, rtol=0))),
    ]


def _optimisers(inputs: Inputs) -> list[Check]:
    choose = inputs.choose
    shapes = [(choose.randrange(1, 5), choose.randrange(1, 5)), (choose.randrange(1, 6),)]
    params = [inputs.normal(*shape) for shape in shapes]
    steps = choose.randrange(4, 9)
    gradients = [[inputs.normal(*shape) for shape in shapes] for _ in range(steps)]
    settings = [("SGD", {"lr": choose.uniform(0.01, 0.5)}, "sgd"),
                ("SGD", {"lr": choose.uniform(0.01, 0.5), "momentum": choose.uniform(0.5, 0.95)}, "momentum"),
                ("Adam", {"lr": choose.uniform(1e-3, 0.1)}, "bias_correction"),
                ("Adam", {"lr": choose.uniform(1e-3, 0.1), "betas": (choose.uniform(0.5, 0.9), choose.uniform(0.9, 0.999)),
                          "eps": 1e-6}, "bias_correction")]
    return [Check(6, f"{kind}({', '.join(f'{key}={_short(value)}' for key, value in setting.items())}): the "
                     f"parameters after each of {steps} steps", "optimiser_steps",
                  {"kind": kind, "settings": setting, "params": params, "gradients": gradients}, hint,
                  f"torch.optim.{kind}'s parameters after each step, without torch.optim",
                  fields(steps=each(each(close_tensors(atol=1e-6))), used=not_borrowed("optimisers")))
            for kind, setting, hint in settings]


def _short(value: object) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_short(item) for item in value) + ")"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _engine(inputs: Inputs, seed: int) -> list[Check]:
    choose = inputs.choose
    pixels, labels = mnist_digits(seed, 240, train=True)
    size = choose.randrange(16, 64)
    batches = batches_of(model_input(pixels), labels, size)
    weights = inputs.cnn_weights()
    test_pixels, test_labels = mnist_digits(seed + 1, 300)
    test_size = choose.randrange(30, 120)
    return [
        Check(7, f"one epoch of SGD with momentum on 240 training digits in batches of {size}: the weights, "
                 "the average loss and each step's loss", "train_one_epoch",
              {"state": weights, "batches": batches, "lr": 0.05, "momentum": 0.9, "seed": choose.randrange(1 << 30)},
              "same_as_reference", "the reference's weights, loss and step losses, on_step after each step",
              fields(weights=state_dicts(atol=1e-5), loss=close_numbers(rel=1e-4), steps=each(each(close_numbers())),
                     order=equal)),
        Check(7, f"evaluate on 300 test digits in batches of {test_size}, the model handed over in train mode",
              "evaluate", {"state": weights, "batches": batches_of(model_input(test_pixels), test_labels, test_size)},
              "accuracy", "the reference's correct, total and loss, in eval mode without a graph",
              fields(correct=close_numbers(rel=0), total=close_numbers(rel=0), loss=close_numbers(rel=1e-4),
                     **{"graph recorded": equal})),
        *(Check(7, f"{name} moves every batch to the device the model is on (a pretend GPU, batches of {size})",
                "batches_left_on_the_cpu", {"state": weights, "batches": batches[:3], "train": train}, "device",
                "images and labels moved with .to(device) before they meet the model", nothing_left)
          for name, train in (("train_one_epoch", True), ("evaluate", False))),
    ]


def nothing_left(found: object, wanted: list) -> str | None:
    """Right when no batch was left on the CPU where the reference leaves none."""
    if not isinstance(found, list):
        return describe(found)
    return None if _same(found, wanted) else f"{', '.join(map(describe, found[:4]))} still on the CPU where they met the model"


def _sanity(inputs: Inputs, seed: int) -> list[Check]:
    pixels, labels = mnist_digits(seed + 2, 16, train=True)
    images, weights = model_input(pixels), inputs.cnn_weights()
    return [
        Check(8, "loss_at_start of a network handed over in train mode, on 16 digits", "loss_at_start",
              {"state": weights, "images": images, "labels": labels}, "start_eval",
              "the reference's loss, in eval mode, the weights unchanged",
              fields(loss=close_numbers(rel=1e-5),
                     **{"a plain float": equal, "weights changed": equal, "graph recorded": equal})),
        Check(8, "overfit_one_batch: the loss before each of 12 Adam steps on 16 digits", "overfit_one_batch",
              {"state": weights, "images": images, "labels": labels, "lr": 3e-3, "steps": 12,
               "seed": inputs.choose.randrange(1 << 30)}, "overfit_loop", "the reference's losses, step by step",
              fields(losses=each(close_numbers(rel=1e-3, abs_=1e-5)), **{"plain floats": equal})),
    ]


def _monitor(inputs: Inputs) -> list[Check]:
    choose = inputs.choose
    per_epoch = choose.randrange(50, 1000)
    calls = [["train", choose.uniform(0, 3), epoch, choose.randrange(per_epoch), per_epoch] for epoch in (0, 3)]
    calls.append(["test", choose.uniform(0, 2), choose.uniform(80, 100), choose.randrange(1, 20)])
    return [Check(9, f"the scalars logged for two training steps ({per_epoch} batches an epoch) and one test epoch",
                  "logged_scalars", {"calls": calls}, "global_step",
                  "Loss/Train at each global step, Loss/Test and Accuracy/Test at the epoch",
                  judge_scalars)]


def judge_scalars(found: object, wanted: list) -> str | None:
    """The logged scalars, each with its tag, value (to float32's precision) and step."""
    if not isinstance(found, list) or not all(isinstance(item, list) and len(item) == 3 for item in found):
        return describe(found)
    same = len(found) == len(wanted) and all(
        tag == wanted_tag and step == wanted_step and math.isclose(value, wanted_value, rel_tol=1e-6)
        for (tag, value, step), (wanted_tag, wanted_value, wanted_step) in zip(found, wanted))
    return None if same else ", ".join(f"{describe(tag)} {describe(value)} at step {describe(step)}"
                                       for tag, value, step in found[:4]) or "nothing logged"


def judge_end_to_end(found: object, wanted: None) -> str | None:
    """Load the answered weights into the reference CNN and measure them here, on the whole test set."""
    from course.data import load_split

    if not isinstance(found, list) or not all(isinstance(tensor, torch.Tensor) for tensor in found):
        return describe(found)
    try:
        model = questions.load_by_shape(solutions.model.CNN(), dict(enumerate(found)))
    except (ValueError, RuntimeError):
        return "weights that do not fit the course's CNN"
    split = load_split(train=False)
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(chunk).argmax(1) for chunk in model_input(split.data).split(1000)])
    accuracy = 100 * float((predicted == split.targets).double().mean())
    return None if accuracy > END_TO_END_THRESHOLD else f"{accuracy:.2f}%"


def _inference(inputs: Inputs, seed: int) -> list[Check]:
    count = inputs.choose.choice([1, inputs.choose.randrange(2, 100)])
    pixels, _ = mnist_digits(seed + 3, count)
    state, images = inputs.cnn_weights(), model_input(pixels)
    expected = fields(digits=equal, probabilities=close_tensors(atol=1e-5), **{"graph recorded": equal})
    return [
        Check(11, f"predict on {count} test digit(s), the model handed over in train mode", "predict",
              {"state": state, "images": images, "double_softmax": False}, "digits",
              "the reference's digits and probabilities, in eval mode without a graph", expected),
        Check(11, f"predict with a notebook model that already returns probabilities ({count} digit(s))", "predict",
              {"state": state, "images": images, "double_softmax": True}, "softmax_twice",
              "the model's own probabilities, not their softmax", expected),
        Check(11, "predict moves the images to the device it is given (a pretend GPU)", "images_left_on_the_cpu",
              {"state": state, "images": images}, "input_device", "model(images.to(device))", nothing_left),
    ]


def _preprocess(inputs: Inputs, seed: int) -> list[Check]:
    pixels, _ = mnist_digits(seed + 4, 4)
    choose = inputs.choose
    large, small = drawing(pixels[0], choose), drawing(pixels[1], choose, size=choose.randrange(8, 16))
    faint = (255 - choose.uniform(0.3, 0.5) * pixels[2].double()).to(torch.uint8)
    return [
        Check(12, f"prepare_drawing of a digit drawn dark on light paper, off centre on a "
                  f"{large.shape[1]}×{large.shape[0]} canvas", "prepare_drawing", {"pixels": large}, "invert",
              "the reference's (1, 28, 28) input", judge_drawing),
        Check(12, f"prepare_drawing of a digit {small.shape[1]}×{small.shape[0]} pixels small, enlarged to the box",
              "prepare_drawing", {"pixels": small}, "scale", "the reference's (1, 28, 28) input", judge_drawing),
        Check(12, "prepare_drawing of faint pencil on white paper, stretched to full-white ink", "prepare_drawing",
              {"pixels": faint}, "contrast", "the reference's (1, 28, 28) input", judge_drawing),
        Check(12, "prepare_drawing of strokes finer than the box, averaged when shrunk", "prepare_drawing",
              {"pixels": fine_strokes(choose)}, "resize_filter", "the reference's (1, 28, 28) input", judge_drawing),
    ]


def fine_strokes(choose: random.Random) -> torch.Tensor:
    """A thick frame filled with one-pixel lines, several times finer than the 20-pixel box."""
    side = choose.randrange(200, 280)
    canvas = torch.zeros(side, side, dtype=torch.uint8)
    edge, thickness = side // 6, side // 15
    canvas[edge:side - edge, edge:side - edge] = 255
    canvas[edge + thickness:side - edge - thickness, edge + thickness:side - edge - thickness] = 0
    canvas[edge + thickness:side - edge - thickness:2, edge + thickness:side - edge - thickness] = 255
    return canvas


def judge_drawing(found: object, wanted: torch.Tensor) -> str | None:
    if not isinstance(found, torch.Tensor) or found.shape != wanted.shape:
        return describe(found)
    difference = float((found.double() - wanted.double()).abs().mean())
    return None if difference < 0.05 else f"a mean difference of {difference:.2f} from the reference's"


def _own_parts(inputs: Inputs, seed: int) -> list[Check]:
    pixels, labels = mnist_digits(seed + 5, 32, train=True)
    lr = inputs.choose.uniform(1e-3, 1e-2)
    return [Check(13, f"OwnCNN with given weights: its scores in eval mode, then one train_step with its own Adam "
                      f"(lr {lr:.3g}) on 32 digits, dropout 0", "own_parts_step",
                  {"state": inputs.cnn_weights(), "images": model_input(pixels), "labels": labels, "lr": lr},
                  "train_step", "the reference's scores, loss and weights, with your conv2d, max_pool2d, "
                  "cross_entropy and Adam, not PyTorch's",
                  fields(scores=close_tensors(atol=1e-4), loss=close_numbers(rel=1e-4), weights=state_dicts(atol=1e-5),
                         used=not_borrowed("conv2d", "max_pool2d", "losses", "optimisers")))]
