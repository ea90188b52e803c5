"""Entry point for ``python -m solutions``."""

import sys

from .cli import main

sys.exit(main())
