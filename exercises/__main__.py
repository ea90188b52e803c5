"""Entry point for ``python -m solutions``: the command line, or the drawing pad for ``draw``."""

import sys

from course.threads import configure_threads

configure_threads()  # before anything loads PyTorch

try:
    if sys.argv[1:2] == ["draw"]:
        from .drawing_pad import main

        sys.exit(main(sys.argv[2:]))
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while PyTorch is still loading
    sys.exit(130)

sys.exit(main())
