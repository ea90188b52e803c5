"""The questions class grading asks a submission, as procedures that run the course's code.

Each procedure takes the course package to question (``exercises`` in the sandbox, the
reference ``solutions`` in the trusted grader) and plain inputs, and returns a plain answer:
tensors, numbers, strings, lists and dicts, which is all the answer channel carries. The
trusted grader runs the same procedure on the reference and compares; a learner's answer of
the wrong kind comes back as a string naming its type, so that the comparison can say so.

This file is copied into the sandbox beside the worker: it imports nothing of the grader.
Where an exercise needs a network it does not ask the learner to build (training, sanity
checks, inference), the procedure uses the reference CNN, so that each exercise is graded
on its own.
"""

from __future__ import annotations

import importlib
import weakref

import torch
from torch import nn

try:
    from grader.pretend import PRETEND, PretendDevice
    from grader.tracing import library_use
except ImportError:  # in the sandbox, where the grader is not mounted: these modules are copied beside this one
    from pretend import PRETEND, PretendDevice
    from tracing import library_use

CPU = torch.device("cpu")


class Course:
    """The course package ``name`` (``exercises`` or ``solutions``), each module imported when first asked for."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, module: str):
        return importlib.import_module(f"{self.name}.{module}")


def plain(value: object) -> object:
    """``value`` as plain data: a tensor detached and compacted, numbers as they are, else its type's name."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu").clone().contiguous() if value.layout == torch.strided else "a sparse tensor"
    if isinstance(value, bool | int | float):
        return value
    return f"a {type(value).__name__}"


def number(value: object) -> object:
    """A float for anything ``float()`` accepts (a 0-d tensor, a numpy float), else the type's name."""
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        return plain(value)


def load_by_shape(model: nn.Module, state: dict[str, torch.Tensor]) -> nn.Module:
    """Give ``model`` the weights ``state`` whatever its layers are called: each of the CNN's eight
    tensors has a shape of its own, so shapes tell which is which."""
    by_shape = {tuple(tensor.shape): tensor for tensor in state.values()}
    own = model.state_dict()
    missing = [tuple(tensor.shape) for tensor in own.values() if tuple(tensor.shape) not in by_shape]
    if missing or len(own) != len(state):
        raise ValueError(f"the network's parameters have the shapes {[tuple(t.shape) for t in own.values()]}, "
                         "not those of the notebook's conv1, conv2, fc1 and fc2")
    model.load_state_dict({name: by_shape[tuple(tensor.shape)] for name, tensor in own.items()})
    return model


#: The questions whose answer holds what the worker saw the learner's code do, not only what it returned
#: (the library's functions it used, batches it held, graphs recorded, batches left on the CPU...). Code
#: that can reach the worker's own objects could rewrite those: see :mod:`grader.classroom.scrutiny`.
MEASURING = {"mean_and_std", "conv2d", "max_pool2d", "log_softmax", "cross_entropy", "forward_backward",
             "numerical_gradient", "optimiser_steps", "cnn_gradients_reach", "train_one_epoch",
             "batches_left_on_the_cpu", "evaluate", "loss_at_start", "overfit_one_batch", "predict",
             "images_left_on_the_cpu", "own_parts_step"}
#: The questions that need the course's CNN: only their sandbox holds a copy of it (see :func:`reference_cnn`).
NETWORK_QUESTIONS = {"train_one_epoch", "batches_left_on_the_cpu", "evaluate", "loss_at_start", "overfit_one_batch",
                     "predict", "images_left_on_the_cpu"}


def reference_cnn(course: Course, state: dict[str, torch.Tensor], double_softmax: bool = False) -> nn.Module:
    """The course's CNN with the weights ``state``, for exercises that use a network without building it:
    the reference's own in the trusted grader; in the sandbox, the copy ``reference_network`` that is
    mounted only while :data:`NETWORK_QUESTIONS` are asked, never while the learner's CNN is graded."""
    network = "solutions.model" if course.name == "solutions" else "reference_network"
    model = importlib.import_module(network).CNN(double_softmax=double_softmax)
    model.load_state_dict(state)
    return model


def on_pretend_device(model: nn.Module, batches: list[tuple[torch.Tensor, ...]]) -> PretendDevice:
    """A pretend GPU holding ``model``, watching each batch: what met the model while still on the CPU."""
    pretend = PretendDevice()
    pretend.place(*model.parameters(), *model.buffers())
    for index, batch in enumerate(batches):
        for part, tensor in zip(("images", "labels"), batch):
            pretend.watch(f"{part} {index}", tensor)
    return pretend


# --- exercise 1: tensors --------------------------------------------------------------------------

def mean_and_std(course, batches: list[torch.Tensor]) -> object:
    """The statistics, and the most earlier batches still held while a new one was read: a data set
    read one batch at a time never needs more than the one before."""
    held: list[int] = []
    alive: list[weakref.ref] = []

    def one_at_a_time():  # like an epoch's DataLoader: each batch a new tensor, and read once
        for batch in batches:
            held.append(sum(ref() is not None for ref in alive))
            fresh = batch.clone()
            alive.append(weakref.ref(fresh))
            yield fresh
            del fresh

    found = course.tensors.mean_and_std(one_at_a_time())
    statistics = [number(value) for value in found] if isinstance(found, tuple | list) else plain(found)
    return {"statistics": statistics, "batches held": max(held, default=0)}


def steps_per_epoch(course, cases: list[list[int]]) -> list[object]:
    return [plain(course.tensors.steps_per_epoch(size, batch, bool(drop))) for size, batch, drop in cases]


# --- exercise 2: convolution ----------------------------------------------------------------------

def conv_output_size(course, cases: list[list[int]]) -> list[object]:
    return [plain(course.convolution.conv_output_size(size, kernel, stride, padding))
            for size, kernel, stride, padding in cases]


def traced(function, *args, **kwargs) -> dict[str, object]:
    """The output of ``function`` and what PyTorch did for it (so that the grader can tell a call of
    the function being re-implemented from a re-implementation)."""
    with library_use() as used:
        output = function(*args, **kwargs)
    return {"output": output, "used": sorted(used)}


def conv2d(course, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, stride: int, padding: int) -> object:
    found = traced(course.convolution.conv2d, input, weight, bias, stride=stride, padding=padding)
    return {**found, "output": plain(found["output"])}


def max_pool2d(course, input: torch.Tensor, kernel_size: int, stride: int | None) -> object:
    """Pooled ``input``; with ``stride`` None the function's own default stride is asked for."""
    strides = () if stride is None else (stride,)
    found = traced(course.convolution.max_pool2d, input, kernel_size, *strides)
    return {**found, "output": plain(found["output"])}


# --- exercise 3: the CNN --------------------------------------------------------------------------

def cnn_parameters(course) -> list[list[int]]:
    """The shape of every parameter, whatever the layers are called, in sorted order."""
    return sorted(list(tensor.shape) for tensor in course.model.CNN().state_dict().values())


def cnn_outputs(course, state: dict[str, torch.Tensor], images: torch.Tensor, train: bool, seed: int,
                double_softmax: bool, dropout: list[float]) -> object:
    """The outputs with the weights ``state``, in eval mode, or in train mode with dropout drawn from ``seed``
    at the rates ``dropout`` (convolutional, fully connected)."""
    conv_dropout, fc_dropout = dropout
    model = load_by_shape(course.model.CNN(conv_dropout=conv_dropout, fc_dropout=fc_dropout,
                                           double_softmax=double_softmax), state)
    model.train(train)
    torch.manual_seed(seed)
    with torch.no_grad():
        return plain(model(images))


def cnn_gradients_reach(course, images: torch.Tensor, seed: int) -> list[str]:
    """The parameters a backward pass from the outputs leaves without a gradient."""
    torch.manual_seed(seed)
    model = course.model.CNN().train()
    model(images).square().sum().backward()
    return sorted(name for name, parameter in model.named_parameters() if parameter.grad is None)


# --- exercise 4: losses ---------------------------------------------------------------------------

def log_softmax(course, input: torch.Tensor, dim: int) -> object:
    found = traced(course.losses.log_softmax, input, dim)
    return {**found, "output": plain(found["output"])}


def cross_entropy(course, input: torch.Tensor, target: torch.Tensor) -> object:
    found = traced(course.losses.cross_entropy, input, target)
    return {**found, "output": number(found["output"])}


def double_softmax_floor(course, classes: list[int]) -> list[object]:
    return [number(course.losses.double_softmax_floor(count)) for count in classes]


# --- exercise 5: backpropagation ------------------------------------------------------------------

def forward_backward(course, inputs: torch.Tensor, targets: torch.Tensor, w1: torch.Tensor, b1: torch.Tensor,
                     w2: torch.Tensor, b2: torch.Tensor) -> object:
    found = traced(course.backprop.forward_backward, inputs, targets, w1, b1, w2, b2)
    loss, gradients = found["output"]
    return {"loss": number(loss), "used": found["used"],
            **{name: plain(getattr(gradients, name, None)) for name in ("w1", "b1", "w2", "b2")}}


def numerical_gradient(course, weights: torch.Tensor, input: torch.Tensor, eps: float) -> object:
    """The gradient of ``sum(weights · sin x) + sum(x³)`` at ``input``, and ``input`` afterwards."""
    point = input.clone()
    gradient = course.backprop.numerical_gradient(lambda x: (weights * x.sin()).sum() + x.pow(3).sum(), point, eps)
    return {"gradient": plain(gradient), "input_after": plain(point)}


# --- exercise 6: optimisers -----------------------------------------------------------------------

def optimiser_steps(course, kind: str, settings: dict[str, float], params: list[torch.Tensor],
                    gradients: list[list[torch.Tensor]]) -> list[list[object]]:
    """The parameters after each step, with the given gradients set before it."""
    parameters = [param.clone().requires_grad_() for param in params]
    trajectory = []
    with library_use() as used:
        optimiser = getattr(course.optimisers, kind)(parameters, **settings)
        for step in gradients:
            for parameter, gradient in zip(parameters, step):
                parameter.grad = gradient.clone()
            optimiser.step()
            trajectory.append([plain(parameter) for parameter in parameters])
    return {"steps": trajectory, "used": sorted(used)}


# --- exercise 7: training and testing -------------------------------------------------------------

def train_one_epoch(course, state: dict[str, torch.Tensor], batches: list[list[torch.Tensor]], lr: float,
                    momentum: float, seed: int) -> object:
    """The weights after one epoch with SGD, the average loss returned, what ``on_step`` was told, and the
    order of optimiser steps and ``on_step`` calls."""
    model = reference_cnn(course, state).eval()  # train_one_epoch must switch dropout on itself
    optimiser = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    steps: list[list[object]] = []
    order: list[str] = []
    optimiser.register_step_post_hook(lambda *_: order.append("step"))

    def on_step(index: object, value: object) -> None:
        steps.append([plain(index), number(value)])
        order.append("on_step")

    torch.manual_seed(seed)
    loss = course.engine.train_one_epoch(model, [tuple(batch) for batch in batches], optimiser, nn.CrossEntropyLoss(),
                                         CPU, on_step)
    return {"weights": {name: plain(tensor) for name, tensor in model.state_dict().items()}, "loss": number(loss),
            "steps": steps, "order": order}


def batches_left_on_the_cpu(course, state: dict[str, torch.Tensor], batches: list[list[torch.Tensor]],
                            train: bool) -> list[str]:
    """The images and labels that met the model's weights while still on the CPU, the model being on a GPU."""
    model, batches = reference_cnn(course, state), [tuple(batch) for batch in batches]
    pretend = on_pretend_device(model, batches)
    with pretend:
        if train:
            optimiser = torch.optim.SGD(model.parameters(), lr=0.01)
            course.engine.train_one_epoch(model, batches, optimiser, nn.CrossEntropyLoss(), PRETEND)
        else:
            course.engine.evaluate(model, batches, nn.CrossEntropyLoss(), PRETEND)
    return sorted(pretend.mixed)


def recording_gradients(model: nn.Module) -> list[bool]:
    """Whether autograd recorded a graph at each forward pass of ``model``, from then on."""
    recorded: list[bool] = []
    model.register_forward_hook(lambda module, inputs, output: recorded.append(torch.is_grad_enabled()))
    return recorded


def evaluate(course, state: dict[str, torch.Tensor], batches: list[list[torch.Tensor]]) -> object:
    model = reference_cnn(course, state).train()
    recorded = recording_gradients(model)
    found = course.engine.evaluate(model, [tuple(batch) for batch in batches], nn.CrossEntropyLoss(), CPU)
    return {**{name: number(getattr(found, name, None)) for name in ("correct", "total", "loss")},
            "graph recorded": any(recorded)}


# --- exercise 8: sanity checks --------------------------------------------------------------------

def loss_at_start(course, state: dict[str, torch.Tensor], images: torch.Tensor, labels: torch.Tensor) -> object:
    """The loss at start of a model left in train mode, and whether measuring it changed the weights."""
    model = reference_cnn(course, state).train()
    recorded = recording_gradients(model)
    loss = course.sanity.loss_at_start(model, images, labels, nn.CrossEntropyLoss())
    changed = any(not torch.equal(model.state_dict()[name], tensor) for name, tensor in state.items())
    return {"loss": number(loss), "a plain float": type(loss) is float, "weights changed": changed,
            "graph recorded": any(recorded)}


def overfit_one_batch(course, state: dict[str, torch.Tensor], images: torch.Tensor, labels: torch.Tensor,
                      lr: float, steps: int, seed: int) -> object:
    model = reference_cnn(course, state).eval()
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    torch.manual_seed(seed)
    losses = course.sanity.overfit_one_batch(model, images, labels, nn.CrossEntropyLoss(), optimiser, steps)
    if not isinstance(losses, list | tuple):
        return plain(losses)
    return {"losses": [number(loss) for loss in losses], "plain floats": all(type(loss) is float for loss in losses)}


# --- exercise 9: monitoring -----------------------------------------------------------------------

def logged_scalars(course, calls: list[list[object]]) -> list[list[object]]:
    """What ``log_train_step`` and ``log_test_epoch`` log for each call (``[kind, *arguments]``), read back
    from the event files a real ``SummaryWriter`` wrote."""
    import tempfile

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    with tempfile.TemporaryDirectory() as folder:
        writer = SummaryWriter(folder)
        for kind, *arguments in calls:
            log = course.monitor.log_train_step if kind == "train" else course.monitor.log_test_epoch
            log(writer, *arguments)
        writer.close()
        events = EventAccumulator(folder)
        events.Reload()
        return sorted([tag, float(event.value), int(event.step)] for tag in events.Tags()["scalars"]
                      for event in events.Scalars(tag))


# --- exercise 10: end to end ----------------------------------------------------------------------

def trained_weights(course, seed: int) -> object:
    """The weights one epoch of the learner's own model, loops and logging reach with the fast recipe,
    run by the course's runtime with the parts of ``course``."""
    from course.parts import load_parts
    from course.recipes import FAST
    from course.training import train

    result = train(FAST.with_overrides(epochs=1), CPU, seed=seed, log_dir="runs", progress=False,
                   report=lambda line: None, parts=load_parts(course.name))
    return [plain(tensor) for tensor in result.model.state_dict().values()]


# --- exercise 11: inference -----------------------------------------------------------------------

def predict(course, state: dict[str, torch.Tensor], images: torch.Tensor, double_softmax: bool) -> object:
    model = reference_cnn(course, state, double_softmax).train()
    recorded = recording_gradients(model)
    found = course.inference.predict(model, images, "cpu")
    return {**{name: plain(getattr(found, name, None)) for name in ("digits", "probabilities")},
            "graph recorded": any(recorded)}


def images_left_on_the_cpu(course, state: dict[str, torch.Tensor], images: torch.Tensor) -> list[str]:
    model = reference_cnn(course, state)
    pretend = on_pretend_device(model, [(images,)])
    with pretend:
        course.inference.predict(model, images, PRETEND)
    return sorted(pretend.mixed)


# --- exercise 12: preparing drawings --------------------------------------------------------------

def prepare_drawing(course, pixels: torch.Tensor) -> object:
    """The model input prepared from a grey-level drawing given as ``(H, W)`` uint8 pixels."""
    from PIL import Image

    return plain(course.preprocess.prepare_drawing(Image.fromarray(pixels.numpy(), "L")))



# --- exercise 13: the CNN with the learner's own parts --------------------------------------------

def own_parts_step(course, state: dict[str, torch.Tensor], images: torch.Tensor, labels: torch.Tensor,
                   lr: float) -> object:
    """OwnCNN's scores in eval mode with the weights ``state``; then, with dropout 0, the loss of one
    ``train_step`` with its own ``optimiser`` and the weights after it; and what PyTorch did for them all."""
    with library_use() as used:
        model = course.own_parts.OwnCNN()
        model.load_state_dict(state)
        with torch.no_grad():
            scores = model.eval()(images)
        model = course.own_parts.OwnCNN(conv_dropout=0.0, fc_dropout=0.0)
        model.load_state_dict(state)
        adam = course.own_parts.optimiser(model.parameters(), lr)
        loss = course.own_parts.train_step(model.train(), images, labels, adam)
    return {"scores": plain(scores), "loss": number(loss),
            "weights": {name: plain(tensor) for name, tensor in model.state_dict().items()}, "used": sorted(used)}
