"""Checks of exercise 9, TensorBoard (exercises/monitor.py)."""

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.tensorboard import SummaryWriter

from grader.checks import expect

pytestmark = pytest.mark.ex9


class RecordingWriter(SummaryWriter):
    """A real SummaryWriter (flush, close and the rest work) that also remembers every add_scalar call."""

    def __init__(self, log_dir):
        super().__init__(str(log_dir))
        self.scalars = []

    def add_scalar(self, tag, scalar_value, global_step=None, *args, **kwargs):
        self.scalars.append((tag, float(scalar_value), global_step))
        return super().add_scalar(tag, scalar_value, global_step, *args, **kwargs)


def log_train_step(learner, log_dir, **arguments):
    with RecordingWriter(log_dir) as writer, learner.running("train_tag"):
        learner.get("monitor", "log_train_step")(writer, **arguments)
    return writer.scalars


def log_test_epoch(learner, log_dir, **arguments):
    with RecordingWriter(log_dir) as writer, learner.running("test_tags"):
        learner.get("monitor", "log_test_epoch")(writer, **arguments)
    return {tag: (value, step) for tag, value, step in writer.scalars}


def test_training_loss_is_logged_as_loss_train(learner, tmp_path):
    """a training step is logged under the tag Loss/Train"""
    scalars = log_train_step(learner, tmp_path, loss=0.25, epoch=0, batch_index=3, batches_per_epoch=600)
    expect([tag for tag, _, _ in scalars] == ["Loss/Train"], "train_tag", "one scalar tagged 'Loss/Train'",
           [tag for tag, _, _ in scalars])
    expect(scalars[0][1] == 0.25, "values", "the loss 0.25", scalars[0][1])


def test_training_steps_count_over_all_epochs(learner, tmp_path):
    """the step of Loss/Train counts batches over all epochs"""
    scalars = log_train_step(learner, tmp_path, loss=0.25, epoch=2, batch_index=5, batches_per_epoch=600)
    steps = [step for _, _, step in scalars]
    expect(steps == [2 * 600 + 5], "global_step", "step 1205 for batch 5 of epoch 2 (600 batches per epoch)", steps)


def test_test_results_are_logged_per_epoch(learner, tmp_path):
    """an epoch's test loss and accuracy are logged as Loss/Test and Accuracy/Test"""
    scalars = log_test_epoch(learner, tmp_path, loss=0.07, accuracy=98.5, epoch=3)
    expect(set(scalars) == {"Loss/Test", "Accuracy/Test"}, "test_tags", "tags 'Loss/Test' and 'Accuracy/Test'",
           sorted(scalars))
    expect([step for _, step in scalars.values()] == [3, 3], "test_step", "step 3 (the epoch) for both",
           [step for _, step in scalars.values()])
    values = (scalars["Loss/Test"][0], scalars["Accuracy/Test"][0])
    expect(values == (pytest.approx(0.07), pytest.approx(98.5)), "values", "loss 0.07 and accuracy 98.5",
           values)


def test_event_files_hold_the_three_curves(learner, tmp_path):
    """real TensorBoard event files hold Loss/Train, Loss/Test and Accuracy/Test"""
    monitor = learner.module("monitor")
    writer = SummaryWriter(str(tmp_path))
    with learner.running("train_tag"):
        for epoch in range(2):
            for batch_index in range(3):
                monitor.log_train_step(writer, 1.0 / (1 + batch_index), epoch, batch_index, 3)
            monitor.log_test_epoch(writer, 0.1, 97.0 + epoch, epoch)
    writer.close()
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    expect({"Loss/Train", "Loss/Test", "Accuracy/Test"} <= tags, "test_tags",
           "the three tags in the event file", sorted(tags))
    steps = [event.step for event in events.Scalars("Loss/Train")]
    expect(steps == list(range(6)), "global_step", "Loss/Train at steps 0 to 5 over two epochs", steps)
