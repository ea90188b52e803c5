"""The two recipes' full runs (minutes each): marked slow, run by CI (MNIST_COURSE_RUN_SLOW=1)."""

import pytest
import torch

from course.options import RECIPE_NAMES
from course.recipes import FAST, NOTEBOOK, RECIPES, get_recipe
from course.errors import CourseError
from course.training import train

NOTEBOOK_ACCURACY = 93.46
NOTEBOOK_TEST_LOSS = 1.53


def test_notebook_recipe_is_the_tutorials_settings():
    assert (NOTEBOOK.epochs, NOTEBOOK.batch_size, NOTEBOOK.lr) == (10, 100, 1e-4)
    assert NOTEBOOK.double_softmax and NOTEBOOK.pipeline == "dataloader" and not NOTEBOOK.normalize
    assert NOTEBOOK.schedule == "constant"


def test_unknown_recipe_is_refused():
    with pytest.raises(CourseError, match="choose one of fast, notebook"):
        get_recipe("slow")


def test_fast_recipe_shifts_its_images_in_every_epoch_but_the_last():
    assert FAST.max_shift > 0
    assert [FAST.shift_in(epoch) for epoch in range(FAST.epochs)] == [FAST.max_shift] * (FAST.epochs - 1) + [0]
    assert NOTEBOOK.max_shift == 0 and NOTEBOOK.shift_in(0) == 0


@pytest.mark.slow
def test_notebook_recipe_reproduces_the_tutorial(tmp_path):
    result = train(NOTEBOOK, torch.device("cpu"), seed=1, log_dir=None, progress=False)
    final = result.final.test
    assert abs(final.accuracy - NOTEBOOK_ACCURACY) <= 1.5
    assert abs(final.loss - NOTEBOOK_TEST_LOSS) <= 0.05


@pytest.mark.slow
def test_fast_recipe_reaches_99_percent(tmp_path):
    result = train(FAST, torch.device("cpu"), seed=1, log_dir=None, progress=False)
    assert result.final.test.accuracy >= 99.0


def test_the_command_line_offers_every_recipe_and_no_other():
    """The parser names the recipes without loading PyTorch (course.options); they must be the recipes that exist."""
    assert RECIPE_NAMES == tuple(RECIPES)
