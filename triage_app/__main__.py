"""``python -m triage_app`` does what the ``mura-triage`` command does; also the frozen bundle's entry."""

import multiprocessing
import sys

from triage_app.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # DataLoader workers in the frozen trainer re-enter here
    sys.exit(main())
