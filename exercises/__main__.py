"""Entry point for ``python -m solutions``."""

import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while PyTorch is still loading
    sys.exit(130)

sys.exit(main())
