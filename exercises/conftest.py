"""Loads the course grader (``grader/``) for the checks in this folder."""

from course.threads import configure_threads

configure_threads()  # before the grader's fixtures load PyTorch

from grader.answers import answers  # noqa: E402, F401 - pytest finds fixtures by name
from grader.fixtures import (  # noqa: E402, F401 - pytest finds fixtures by name
    _trained_network,
    cpu,
    loss_fn,
    mnist_batches,
    test_digits,
    test_inputs,
    trained_network,
)
from grader.plugin import (  # noqa: E402, F401 - pytest finds hooks and fixtures by name
    learner,
    pytest_addoption,
    pytest_collection_finish,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_report_header,
    pytest_runtest_call,
    pytest_runtest_makereport,
    pytest_sessionfinish,
    pytest_terminal_summary,
)
