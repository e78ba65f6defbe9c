"""Run the command-line tool as ``python -m sklearn_mrl``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
