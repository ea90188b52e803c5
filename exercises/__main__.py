"""``python -m solutions`` (or ``exercises``): the course's command line, :mod:`course.cli`, running this package's parts."""

import sys

from course.threads import configure_threads

configure_threads()  # before anything loads PyTorch

from course.cli import main  # noqa: E402

sys.exit(main(parts=__package__))
