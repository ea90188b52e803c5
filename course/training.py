"""A whole training run: data, model, optimiser, progress, TensorBoard and checkpoints.

The model, the epoch loop and the TensorBoard writer come from the parts it is handed (see
:mod:`.parts`); everything around them is here.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler
from torch.utils.tensorboard import SummaryWriter
from tqdm.auto import tqdm

from course.options import DEFAULT_LOG_DIR, DEFAULT_RUN_NAME, check_run_name
from course.threads import share_cores

from .checkpoint import all_finite, check_checkpoint_destination, load_checkpoint, save_checkpoint
from .data import Batches, Loaders, ShiftedBatches, make_loaders
from .distributed import Processes, start_epoch
from .errors import CourseError
from .parts import Parts, chosen
from .recipes import RECIPES, CopiedSchedule, Recipe
from .writes import check_folder

StepCallback = Callable[[int, float], None]  # what the parts' train_one_epoch calls after each step


class Evaluation(Protocol):
    """What the parts' ``engine.evaluate`` returns: the mean loss and the correct answers out of how many."""

    loss: float
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        """Percentage of correctly classified samples."""

    def summary(self, name: str = "Test set") -> str:
        """The notebook's summary line."""


@dataclass(frozen=True)
class EpochResult:
    """What one epoch produced; ``test`` is measured on the validation set when the run holds one out."""

    epoch: int
    train_loss: float
    test: Evaluation
    seconds: float


@dataclass
class RunResult:
    """The trained model, the history of its run, and whether Ctrl-C cut it short.

    A run that holds out a validation set evaluates each epoch on it, and the test
    set once, at the end: ``test``.
    """

    model: nn.Module
    epochs: list[EpochResult] = field(default_factory=list)
    interrupted: bool = False
    checkpoint: Path | None = None
    test: Evaluation | None = None

    @property
    def final(self) -> EpochResult:
        """The last finished epoch."""
        if not self.epochs:
            raise CourseError("the run stopped before finishing an epoch")
        return self.epochs[-1]


def accepts_channels_last(model: nn.Module, device: torch.device) -> bool:
    """Whether ``model`` runs with its weights in the channels-last memory layout.

    Channels-last makes max-pooling and convolutions much faster on CPUs, but a
    forward that flattens with ``x.view(-1, 320)``, as the notebook does, fails on
    such tensors; ``torch.flatten`` and ``reshape`` work with both layouts.
    """
    probe = copy.deepcopy(model).to(memory_format=torch.channels_last).eval()
    try:
        with torch.no_grad():
            probe(torch.zeros(2, 1, 28, 28, device=device))
    except RuntimeError:
        return False
    return True


def build_model(recipe: Recipe, device: torch.device, parts: Parts | None = None,
                network: Callable[[], nn.Module] | None = None, own_parts: bool = False) -> nn.Module:
    """The CNN of ``parts`` configured as ``recipe`` says (with ``own_parts``, the one made of the learner's own
    convolution and pooling), or the model ``network()`` makes, on ``device``.

    With ``recipe.channels_last`` the weights use the channels-last layout when the
    model's forward accepts it (see :func:`accepts_channels_last`), and the default
    layout otherwise.
    """
    if network is None:
        cnn = chosen(parts).own_parts.OwnCNN if own_parts else chosen(parts).model.CNN
        model = cnn(conv_dropout=recipe.conv_dropout, fc_dropout=recipe.fc_dropout,
                    double_softmax=recipe.double_softmax)
    else:
        model = network()
    model = model.to(device)
    if recipe.channels_last and accepts_channels_last(model, device):
        model = model.to(memory_format=torch.channels_last)
    return model


WORSE_MARGIN = 1.0  # accuracy points below an existing checkpoint that count as clearly worse
EXPLOSION_FACTOR = 10.0  # a batch loss this many times the first one means the training diverged
# The test loss gets far more room: an evaluate that sums the loss over the 10,000
# test images instead of averaging it (a learner's slip) must not look like divergence.
TEST_EXPLOSION_FACTOR = 1e5


class Diverged(CourseError):
    """The training loss became NaN or infinite, or exploded: the learning rate is too high."""


def check_destinations(
    save: str | os.PathLike | None, log_dir: str | os.PathLike | None, run_name: str = DEFAULT_RUN_NAME,
    overwrite: bool = False, parts: Parts | None = None,
) -> None:
    """Make sure the checkpoint and the TensorBoard run can be written, before any data is loaded.

    Raises:
        CourseError: the run name is not a plain name, or a destination is a folder or a
            file where the other is needed, not writable, or on a full disk; or a file at
            ``save`` is not a readable checkpoint and ``overwrite`` was not asked for.
    """
    check_run_name(run_name)
    if save:
        check_checkpoint_destination(save, parts)
        if not overwrite:
            _accuracy_saved_at(Path(save), parts)
    if log_dir is not None:
        check_folder(Path(log_dir) / run_name, "the TensorBoard logs", "--log-dir")


def _accuracy_saved_at(path: Path, parts: Parts | None) -> float | None:
    """The test accuracy recorded in the checkpoint at ``path``, ``None`` if there is none.

    Raises:
        CourseError: a file at ``path`` is not a readable checkpoint: it is kept, as it may
            be someone's work, unless the run is told to overwrite it.
    """
    if not path.exists():
        return None
    try:
        accuracy = load_checkpoint(path, parts=parts)[1].get("accuracy")
    except CourseError as error:
        raise CourseError(f"{error} It is where --save writes: add --overwrite to replace it, "
                          "or choose another --save.") from None
    return None if accuracy is None else float(accuracy)


def side_path(save: Path) -> Path:
    """Where a run's checkpoint goes when it is clearly worse than the one already at ``save``."""
    return save.with_name(f"{save.stem}.new{save.suffix}")


def _advice(recipe: Recipe) -> str:
    default = RECIPES[recipe.name].lr if recipe.name in RECIPES else recipe.lr
    lower = min(default, recipe.lr / 10)
    return f"the learning rate {recipe.lr:g} is too high; try --lr {lower:g} or lower"


class DivergenceGuard:
    """Stops a run whose loss turns NaN or infinite, or explodes, measured against its first batch's loss."""

    def __init__(self) -> None:
        self.first_loss: float | None = None

    def check_step(self, loss: float, batch_index: int, epoch: int) -> None:
        """Raise :class:`Diverged` if a training batch's ``loss`` is not finite or exploded."""
        if self.first_loss is None:
            self.first_loss = loss  # the reference for what counts as exploding
        if not math.isfinite(loss):
            raise Diverged(f"the training loss became {loss:g} at step {batch_index + 1} of epoch {epoch + 1}")
        if loss > EXPLOSION_FACTOR * self.first_loss:
            raise Diverged(f"the training loss exploded from {self.first_loss:.2f} to {loss:.3g} "
                           f"at step {batch_index + 1} of epoch {epoch + 1}")

    def check_epoch(self, model: nn.Module, held_out: Evaluation, name: str, epoch: int) -> None:
        """Raise :class:`Diverged` if the weights are not finite or the held-out loss (``name``'s) exploded."""
        if not math.isfinite(held_out.loss) or not all_finite(model.state_dict()):
            raise Diverged(f"the weights became NaN or infinite in epoch {epoch + 1}")
        if self.first_loss is not None and held_out.loss > TEST_EXPLOSION_FACTOR * self.first_loss:
            raise Diverged(f"the {name.split()[0].lower()} loss exploded from {self.first_loss:.2f} "
                           f"to {held_out.loss:.3g} in epoch {epoch + 1}")


@dataclass
class CheckpointKeeper:
    """Where a run's checkpoints go: to ``save``, unless the one found there is clearly better.

    A checkpoint already at ``save`` is replaced only by an epoch that is not clearly
    worse (by more than :data:`WORSE_MARGIN` accuracy points); until then this run's
    checkpoints go to :func:`side_path`. Once the run has taken ``save`` over, it keeps it.

    Attributes:
        previous: the accuracy of the checkpoint found at ``save``; ``None`` when there
            was none or the run overwrites it whatever it holds.
        current: where this run's latest checkpoint is, ``None`` before the first.
    """

    save: Path
    previous: float | None
    current: Path | None = None

    @classmethod
    def at(cls, save: Path, overwrite: bool, parts: Parts | None = None) -> CheckpointKeeper:
        """A keeper for ``save`` that respects what is there (read as ``parts``' CNN) unless ``overwrite``."""
        return cls(save, None if overwrite else _accuracy_saved_at(save, parts))

    def target(self, accuracy: float) -> Path:
        """Where an epoch of ``accuracy`` goes."""
        if self.current == self.save or self.previous is None or accuracy >= self.previous - WORSE_MARGIN:
            return self.save
        return side_path(self.save)

    def save_epoch(self, model: nn.Module, epoch: int, recipe: Recipe, seed: int, test: Evaluation) -> Path:
        """Save this epoch where :meth:`target` says, removing this run's earlier checkpoint if it was elsewhere."""
        target = self.target(test.accuracy)
        save_checkpoint(
            target, model, recipe=recipe.name, epoch=epoch, seed=seed,
            normalize=recipe.normalize, accuracy=test.accuracy, test_samples=test.total,
        )
        if self.current is not None and self.current != target:
            self.current.unlink(missing_ok=True)  # this run's earlier, worse epoch beside the kept checkpoint
        self.current = target
        return target

    @property
    def kept_aside(self) -> bool:
        """Whether this run's checkpoint went beside ``save`` because the one there is clearly better."""
        return self.current is not None and self.current != self.save


def _silent(line: str) -> None:
    """Where the summary lines of every process but the first go."""


def _step_callback(
    epoch: int, steps: int, guard: DivergenceGuard, scheduler: LRScheduler | CopiedSchedule | None, writer: SummaryWriter | None,
    bar: tqdm, processes: Processes, parts: Parts,
) -> StepCallback:
    """What happens after each optimiser step: guard, schedule, log and show the loss (averaged over the
    processes), and fit PyTorch's threads to the cores other programs leave free."""
    def on_step(batch_index: int, loss: float) -> None:
        loss = processes.mean(loss)
        guard.check_step(loss, batch_index, epoch)
        if scheduler is not None:
            scheduler.step()
        if writer is not None:
            parts.monitor.log_train_step(writer, loss, epoch, batch_index, steps)
        bar.update()
        bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        share_cores()
    return on_step


def _log_epoch(writer: SummaryWriter | None, held_out: Evaluation, epoch: int, validation: bool, parts: Parts) -> None:
    """Log the held-out loss and accuracy: under the notebook's test tags, or as validation."""
    if writer is None:
        return
    if validation:
        writer.add_scalar("Loss/Validation", held_out.loss, epoch)
        writer.add_scalar("Accuracy/Validation", held_out.accuracy, epoch)
    else:
        parts.monitor.log_test_epoch(writer, held_out.loss, held_out.accuracy, epoch)


def _epoch_batches(batches: Batches, recipe: Recipe, epoch: int, shifts: torch.Generator) -> Batches:
    """The training batches of ``epoch``: shifted as the recipe says for that epoch."""
    most = recipe.shift_in(epoch)
    return ShiftedBatches(batches, most, shifts) if most else batches


def _what_was_kept(result: RunResult, save: Path | None) -> str:
    """What a stopped run leaves behind, for its message."""
    if result.checkpoint:
        return f"the checkpoint of epoch {len(result.epochs)} is kept at {result.checkpoint}"
    return f"{save} is unchanged" if save and save.exists() else "nothing was saved"


def fit(
    recipe: Recipe,
    loaders: Loaders,
    device: torch.device,
    *,
    seed: int = 1,
    run_name: str = DEFAULT_RUN_NAME,
    log_dir: str | os.PathLike | None = DEFAULT_LOG_DIR,
    save: str | os.PathLike | None = None,
    overwrite: bool = False,
    progress: bool | None = None,
    report: Callable[[str], None] = tqdm.write,
    processes: Processes = Processes(),
    parts: Parts | None = None,
    network: Callable[[], nn.Module] | None = None,
    own_parts: bool = False,
) -> RunResult:
    """Train a fresh model of ``parts`` with ``recipe``, evaluating, logging and saving after every epoch.

    A checkpoint already at ``save`` is replaced only by a run that is not clearly
    worse (by more than :data:`WORSE_MARGIN` accuracy points) unless ``overwrite``;
    otherwise this run's checkpoint goes to :func:`side_path` and ``report`` says so
    (see :class:`CheckpointKeeper`).

    Args:
        log_dir: TensorBoard folder (``None`` logs nothing); events go to ``<log_dir>/<run_name>``.
        save: checkpoint path, rewritten after every epoch so that Ctrl-C keeps the last one.
        overwrite: replace the checkpoint at ``save`` whatever its accuracy.
        progress: show a tqdm bar per epoch; ``None`` shows it only on a terminal.
        report: where the per-epoch summary lines go.
        processes: the processes training together (see :mod:`course.distributed`): each
            trains on its shard of ``loaders.train``, and only the first one logs, shows
            progress, reports and saves.
        parts: the set of parts whose CNN, train_one_epoch, evaluate and monitor run
            (``None``: the reference answers).
        network: makes the fresh model to train instead of the CNN of ``parts``, after the seed
            is set (the lessons compare other models trained exactly like it).
        own_parts: train ``parts.own_parts``' CNN with its loss and optimiser, the learner's own convolution,
            pooling, cross-entropy and Adam (exercise 13), instead of PyTorch's.

    Raises:
        Diverged: the loss became NaN or infinite or exploded; the last good checkpoint is kept.
        CourseError: a destination cannot be written (checked before the first epoch).
    """
    if not processes.is_main:  # the first process writes for all of them
        log_dir, save, progress, report = None, None, False, _silent
    parts = chosen(parts)
    check_destinations(save, log_dir, run_name, overwrite, parts)
    save = Path(save) if save else None
    keeper = CheckpointKeeper.at(save, overwrite, parts) if save else None
    torch.manual_seed(seed)
    model = build_model(recipe, device, parts, network, own_parts)
    trainer = processes.wrap(model, device)
    train_batches = processes.shard(loaders.train, seed)
    loss_fn = parts.own_parts.loss if own_parts else nn.CrossEntropyLoss()
    optimizer, scheduler = recipe.make_optimizer(model, len(train_batches),
                                                 parts.own_parts.optimiser if own_parts else None)
    shifts = torch.Generator().manual_seed(seed + processes.rank)  # each process moves its own images its own way
    writer = parts.monitor.open_writer(run_name, log_dir) if log_dir is not None else None
    result = RunResult(model=model)
    held_out, name = (loaders.test, "Test set") if loaders.validation is None else (loaders.validation, "Validation set")
    guard = DivergenceGuard()
    try:
        for epoch in range(recipe.epochs):
            started = time.perf_counter()
            start_epoch(train_batches, epoch)
            bar = tqdm(total=len(train_batches), desc=f"epoch {epoch + 1}/{recipe.epochs}",
                       disable=None if progress is None else not progress, leave=False)
            with bar:
                on_step = _step_callback(epoch, len(train_batches), guard, scheduler, writer, bar, processes, parts)
                batches = _epoch_batches(train_batches, recipe, epoch, shifts)
                epoch_loss = parts.engine.train_one_epoch(trainer, batches, optimizer, loss_fn, device, on_step)
                train_loss = processes.mean(epoch_loss)
            test = parts.engine.evaluate(model, held_out, loss_fn, device)
            guard.check_epoch(model, test, name, epoch)
            result.epochs.append(EpochResult(epoch + 1, train_loss, test, time.perf_counter() - started))
            _log_epoch(writer, test, epoch, validation=loaders.validation is not None, parts=parts)
            if keeper is not None:
                result.checkpoint = keeper.save_epoch(model, epoch + 1, recipe, seed, test)
            report(f"Epoch {epoch + 1}: {test.summary(name)}")
        if loaders.validation is not None:
            result.test = parts.engine.evaluate(model, loaders.test, loss_fn, device)
            report(f"Measured once, after training: {result.test.summary()}")
    except KeyboardInterrupt:
        result.interrupted = True
        kept = f"; the checkpoint of epoch {len(result.epochs)} is kept at {result.checkpoint}" if result.checkpoint else ""
        report(f"Interrupted during epoch {len(result.epochs) + 1}{kept}.")
    except Diverged as error:
        raise Diverged(f"{error}: {_advice(recipe)}. Training stopped; {_what_was_kept(result, save)}.") from None
    finally:
        if writer is not None:
            writer.close()
    if keeper is not None and keeper.kept_aside:
        report(
            f"Kept the existing checkpoint {save} ({keeper.previous:.2f}%): this run's {result.final.test.accuracy:.2f}% "
            f"is clearly worse, so it was saved to {result.checkpoint} (use --overwrite to replace it anyway)."
        )
    return result


def train(
    recipe: Recipe,
    device: torch.device,
    *,
    seed: int = 1,
    data_dir: str | os.PathLike | None = None,
    train_limit: int | None = None,
    test_limit: int | None = None,
    val_split: int = 0,
    **fit_options,
) -> RunResult:
    """Check where the run will write, load MNIST through the recipe's pipeline and :func:`fit` a model on it."""
    check_destinations(fit_options.get("save"), fit_options.get("log_dir", DEFAULT_LOG_DIR),
                       fit_options.get("run_name", DEFAULT_RUN_NAME), fit_options.get("overwrite", False),
                       fit_options.get("parts"))
    loaders = make_loaders(
        recipe.pipeline,
        batch_size=recipe.batch_size,
        normalize=recipe.normalize,
        device=device,
        seed=seed,
        data_dir=data_dir,
        train_limit=train_limit,
        test_limit=test_limit,
        val_split=val_split,
    )
    return fit(recipe, loaders, device, seed=seed, **fit_options)
