import dataclasses
from types import SimpleNamespace

import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import nn

from course import training
from course.data import ShiftedBatches, make_loaders
from course.parts import load_parts
from course.recipes import FAST
from course.threads import THREAD_SETTING
from course.training import fit
from solutions.engine import Evaluation, evaluate, train_one_epoch
from solutions.model import CNN


def test_one_epoch_on_real_data_lowers_the_loss(small_loaders, cpu):
    torch.manual_seed(0)
    model = CNN()
    loss_fn = nn.CrossEntropyLoss()
    before = evaluate(model, small_loaders.test, loss_fn, cpu)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    steps = []
    train_loss = train_one_epoch(model, small_loaders.train, optimizer, loss_fn, cpu, lambda i, loss: steps.append(i))
    after = evaluate(model, small_loaders.test, loss_fn, cpu)
    assert steps == list(range(len(small_loaders.train)))
    assert after.loss < before.loss - 0.2
    assert train_loss < before.loss
    assert after.accuracy > before.accuracy + 20


def test_evaluation_covers_the_whole_test_set(cpu):
    loaders = make_loaders("tensor", train_limit=10, test_batch_size=999)
    result = evaluate(CNN(), loaders.test, nn.CrossEntropyLoss(), cpu)
    assert result.total == 10_000
    assert 0 <= result.correct <= 10_000
    assert result.accuracy == 100.0 * result.correct / 10_000


def test_summary_uses_the_notebooks_format():
    assert Evaluation(loss=1.52864, correct=9346, total=10_000).summary() == (
        "Test set: Average loss: 1.5286, Accuracy: 9346/10000 (93.46%)"
    )


def test_training_is_deterministic_for_a_seed(cpu, monkeypatch):
    # At a fixed thread count: another count adds the same sums in another order, and the course
    # would otherwise follow the cores other programs leave free (course/threads.py).
    monkeypatch.setenv(THREAD_SETTING, str(torch.get_num_threads()))

    def run(seed):  # two epochs: the first with the fast recipe's random shifts
        loaders = make_loaders("tensor", train_limit=1000, test_limit=500, seed=seed)
        result = fit(FAST.with_overrides(epochs=2), loaders, cpu, seed=seed, log_dir=None, report=print)
        return result.final.train_loss, result.final.test

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_tensorboard_events_hold_the_notebooks_tags(small_loaders, cpu, tmp_path):
    fit(FAST.with_overrides(epochs=2), small_loaders, cpu, log_dir=tmp_path, run_name="cnn_experiment", report=print)
    events = EventAccumulator(str(tmp_path / "cnn_experiment"))
    events.Reload()
    scalars = events.Tags()["scalars"]
    assert {"Loss/Train", "Loss/Test", "Accuracy/Test"} <= set(scalars)
    train_steps = [event.step for event in events.Scalars("Loss/Train")]
    assert train_steps == list(range(2 * len(small_loaders.train)))
    assert [event.step for event in events.Scalars("Accuracy/Test")] == [0, 1]
    assert all(0 <= event.value <= 100 for event in events.Scalars("Accuracy/Test"))


class NotebookStyleCNN(CNN):
    """A correct model that flattens as the notebook does, with view."""

    def forward(self, x):
        x = torch.relu(torch.max_pool2d(self.conv1(x), 2))
        x = torch.relu(torch.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        return self.fc2(self.fc_drop(torch.relu(self.fc1(x.view(-1, 320)))))


def test_channels_last_is_used_only_where_the_forward_accepts_it(cpu):
    model = training.build_model(FAST, cpu)
    assert model.conv2.weight.is_contiguous(memory_format=torch.channels_last)
    assert not training.accepts_channels_last(NotebookStyleCNN(), cpu)
    notebook_style = dataclasses.replace(load_parts("solutions"), model=SimpleNamespace(CNN=NotebookStyleCNN))
    fallback = training.build_model(FAST, cpu, notebook_style)
    assert fallback.conv2.weight.is_contiguous()
    assert fallback(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_fit_shifts_the_images_in_every_epoch_but_the_last(cpu):
    trained_on = []

    def recording(model, batches, *args):
        trained_on.append(batches)
        return train_one_epoch(model, batches, *args)

    recorded = SimpleNamespace(train_one_epoch=recording, evaluate=evaluate)
    parts = dataclasses.replace(load_parts("solutions"), engine=recorded)
    loaders = make_loaders("tensor", batch_size=FAST.batch_size, train_limit=200, test_limit=100)
    fit(FAST, loaders, cpu, log_dir=None, progress=False, report=lambda _: None, parts=parts)
    assert [isinstance(batches, ShiftedBatches) for batches in trained_on] == [True] * (FAST.epochs - 1) + [False]
    assert all(batches.most == FAST.max_shift for batches in trained_on[:-1])
