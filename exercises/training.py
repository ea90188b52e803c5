"""A whole training run: data, model, optimiser, progress, TensorBoard and checkpoints."""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from .checkpoint import save_checkpoint
from .data import Loaders, make_loaders
from .engine import Evaluation, evaluate, train_one_epoch
from .errors import CourseError
from .model import CNN
from .monitor import DEFAULT_LOG_DIR, DEFAULT_RUN_NAME, log_test_epoch, log_train_step, open_writer
from .recipes import Recipe


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

    model: CNN
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


def build_model(recipe: Recipe, device: torch.device) -> CNN:
    """The course's CNN configured as ``recipe`` says, on ``device``.

    With ``recipe.channels_last`` the weights use the channels-last layout when the
    model's forward accepts it (see :func:`accepts_channels_last`), and the default
    layout otherwise.
    """
    model = CNN(conv_dropout=recipe.conv_dropout, fc_dropout=recipe.fc_dropout, double_softmax=recipe.double_softmax)
    model = model.to(device)
    if recipe.channels_last and accepts_channels_last(model, device):
        model = model.to(memory_format=torch.channels_last)
    return model


def fit(
    recipe: Recipe,
    loaders: Loaders,
    device: torch.device,
    *,
    seed: int = 1,
    run_name: str = DEFAULT_RUN_NAME,
    log_dir: str | os.PathLike | None = DEFAULT_LOG_DIR,
    save: str | os.PathLike | None = None,
    progress: bool | None = None,
    report: Callable[[str], None] = tqdm.write,
) -> RunResult:
    """Train a fresh model with ``recipe``, evaluating, logging and saving after every epoch.

    Args:
        log_dir: TensorBoard folder (``None`` logs nothing); events go to ``<log_dir>/<run_name>``.
        save: checkpoint path, rewritten after every epoch so that Ctrl-C keeps the last one.
        progress: show a tqdm bar per epoch; ``None`` shows it only on a terminal.
        report: where the per-epoch summary lines go.
    """
    torch.manual_seed(seed)
    model = build_model(recipe, device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer, scheduler = recipe.make_optimizer(model, len(loaders.train))
    writer = open_writer(run_name, log_dir) if log_dir is not None else None
    result = RunResult(model=model, checkpoint=Path(save) if save else None)
    held_out, name = (loaders.test, "Test set") if loaders.validation is None else (loaders.validation, "Validation set")
    try:
        for epoch in range(recipe.epochs):
            started = time.perf_counter()
            bar = tqdm(
                total=len(loaders.train),
                desc=f"epoch {epoch + 1}/{recipe.epochs}",
                disable=None if progress is None else not progress,
                leave=False,
            )

            def on_step(batch_index: int, loss: float) -> None:
                if scheduler is not None:
                    scheduler.step()
                if writer is not None:
                    log_train_step(writer, loss, epoch, batch_index, len(loaders.train))
                bar.update()
                bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

            with bar:
                train_loss = train_one_epoch(model, loaders.train, optimizer, loss_fn, device, on_step)
            if not math.isfinite(train_loss):
                raise CourseError(f"the training loss became {train_loss} in epoch {epoch + 1}; lower the learning rate")
            test = evaluate(model, held_out, loss_fn, device)
            result.epochs.append(EpochResult(epoch + 1, train_loss, test, time.perf_counter() - started))
            if writer is not None and loaders.validation is None:
                log_test_epoch(writer, test.loss, test.accuracy, epoch)
            elif writer is not None:
                writer.add_scalar("Loss/Validation", test.loss, epoch)
                writer.add_scalar("Accuracy/Validation", test.accuracy, epoch)
            if save:
                save_checkpoint(
                    save, model, recipe=recipe.name, epoch=epoch + 1, seed=seed,
                    normalize=recipe.normalize, accuracy=test.accuracy,
                )
            report(f"Epoch {epoch + 1}: {test.summary(name)}")
        if loaders.validation is not None:
            result.test = evaluate(model, loaders.test, loss_fn, device)
            report(f"Measured once, after training: {result.test.summary()}")
    except KeyboardInterrupt:
        result.interrupted = True
        kept = f"; the checkpoint of epoch {len(result.epochs)} is kept at {save}" if save and result.epochs else ""
        report(f"Interrupted during epoch {len(result.epochs) + 1}{kept}.")
    finally:
        if writer is not None:
            writer.close()
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
    """Load MNIST through the recipe's pipeline and :func:`fit` a model on it."""
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
