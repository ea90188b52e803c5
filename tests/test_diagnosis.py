"""The diagnosis the concept exercises' checks share: naming the likeliest mistake, and what is telling."""

import math

import torch

from grader.diagnosis import agrees, likeliest, telling


def test_agrees_compares_values_in_any_container_and_dtype():
    assert agrees(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0], dtype=torch.float64))
    assert not agrees(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.1]))
    assert not agrees(torch.tensor([1.0, 2.0]), torch.tensor([[1.0, 2.0]])), "another shape is another answer"
    assert agrees((torch.tensor(3.0), 4), (3.0, 4.0)) and not agrees((3.0,), (3.0, 4.0))
    assert agrees((0.5, 123.0), (0.5, None)), "None stands for anything"
    assert agrees(torch.tensor([math.inf, math.nan]), torch.tensor([math.inf, math.nan]))
    assert not agrees(torch.tensor([math.inf]), torch.tensor([1e30])) and not agrees(math.nan, 1.0)
    assert not agrees("1.0", 1.0) and not agrees(torch.ones(2), 1.0)


def test_likeliest_names_the_first_mistake_whose_answer_it_is():
    asked = []

    def answer(value):
        def compute():
            asked.append(value)
            return value
        return compute

    mistakes = [("off_by_one", answer(5)), ("doubled", answer(8)), ("also_doubled", answer(8)), ("never", answer(9))]
    assert likeliest(8, mistakes, otherwise="generic") == "doubled"
    assert asked == [5, 8], "answers are computed only until one matches"
    assert likeliest(7, mistakes, otherwise="generic") == "generic"


def test_a_mistake_that_cannot_be_computed_is_not_the_one():
    mistakes = [("impossible", lambda: 1 / 0), ("shape", lambda: torch.zeros(2, 3))]
    assert likeliest(torch.zeros(2, 3), mistakes, otherwise="generic") == "shape"


def test_telling_names_the_region_that_holds_every_wrong_value():
    expected = torch.arange(12.0).view(3, 4)
    found = expected.clone()
    found[0, 1] = found[2, 3] = -1.0
    border = torch.ones(3, 4, dtype=torch.bool)
    border[1, 1:3] = False
    first_row = torch.zeros(3, 1, dtype=torch.bool)
    first_row[0] = True
    regions = [("the first row", first_row), ("the border", border)]
    assert telling(found, expected, regions) == "; only the border differ (2 of 12 values)"
    found[1, 2] = -1.0  # a wrong value inside: no region holds them all
    assert telling(found, expected, regions) == ""
    assert telling(expected, expected, regions) == "", "nothing to tell about a right answer"
    assert telling(found, expected, [("everything", torch.ones(3, 4, dtype=torch.bool))]) == ""
    assert telling(torch.zeros(2), expected, regions) == "", "another shape has no places to compare"
