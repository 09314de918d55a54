"""MURA Triage: a worklist that puts likely abnormal upper-extremity radiographs first.

Research tool - not for clinical use. The core modules here (config, ingest, store, scoring)
import no Qt; the window lives in :mod:`triage_app.gui` and only adapts the core.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mura-triage")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"

NOT_FOR_CLINICAL_USE = "Research tool - not for clinical use."
