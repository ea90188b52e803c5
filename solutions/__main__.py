"""Entry point for ``python -m solutions``: the command line (:mod:`.cli`)."""

import sys

from course.threads import configure_threads

configure_threads()  # before anything loads PyTorch

from .cli import main  # noqa: E402

sys.exit(main())
