"""``python -m triage_app`` does what the ``mura-triage`` command does."""

import sys

from triage_app.cli import main

if __name__ == "__main__":
    sys.exit(main())
