"""Implementations of the ``mura-triage`` subcommands (argument parsing lives in :mod:`triage_app.cli`)."""

from triage_app.commands.demo import demo
from triage_app.commands.pipeline import model_command, quarantine, score, watch, window, worklist
from triage_app.commands.selftest import self_test
from triage_app.commands.training import evaluate, export_dataset, phantoms, train

__all__ = ["demo", "evaluate", "export_dataset", "model_command", "phantoms", "quarantine", "score", "self_test",
           "train", "watch", "window", "worklist"]
