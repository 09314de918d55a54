"""The ``mura-triage`` command line. ``main(args)`` is importable so tests call it directly.

Errors a user can fix (missing folder, unreadable checkpoint, bad option) print one line and exit
non-zero; they never show a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from triage_app import NOT_FOR_CLINICAL_USE, __version__

PROG = "mura-triage"


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see {self.prog} --help)\n")


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="model checkpoint to score with (overrides config.toml)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="compute device (default: auto)")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), help="(default: auto)")
    parser.add_argument("--batch-size", type=int, help="views per forward pass (default: 8)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=f"MURA Triage worklist. {NOT_FOR_CLINICAL_USE}")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--home", help="data home (default: $MURA_TRIAGE_HOME or the user data dir)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    parser.add_argument("--inbox", dest="gui_inbox", metavar="DIR", help="window: hot folder to watch")
    parser.add_argument("--checkpoint", dest="gui_checkpoint", metavar="PATH", help="window: model checkpoint")
    parser.add_argument("--quit-after", dest="gui_quit_after", type=float, metavar="SECONDS",
                        help="window: close after this many seconds (smoke tests of an installation)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    watch = sub.add_parser("watch", help="watch the hot folder, score and keep the worklist")
    watch.add_argument("--inbox", help="hot folder to watch (default: <home>/inbox)")
    watch.add_argument("--once", action="store_true",
                       help="take what is in the inbox, wait until those studies are complete and scored, exit")
    watch.add_argument("--timeout", type=float, help="with --once: give up after this many seconds")
    watch.add_argument("--stable-seconds", type=float, help="quiet time before a study is complete (default 10)")
    _add_model_options(watch)

    worklist = sub.add_parser("worklist", help="print the worklist in display order")
    worklist.add_argument("--json", action="store_true", help="JSON array")
    worklist.add_argument("--limit", type=int, help="at most this many studies")

    score = sub.add_parser("score", help="score DICOM files/folders without touching the worklist")
    score.add_argument("paths", nargs="+", metavar="PATH")
    score.add_argument("--json", action="store_true", help="one JSON object per study, one per line")
    _add_model_options(score)

    quarantine = sub.add_parser("quarantine", help="list rejected files and why")
    quarantine.add_argument("--json", action="store_true")

    phantoms = sub.add_parser("phantoms", help="write synthetic radiographs (tests, demo, benchmarks)")
    phantoms.add_argument("--out", required=True, help="folder to write")
    phantoms.add_argument("--format", choices=("mura", "dicom"), default="dicom")
    phantoms.add_argument("--studies", type=int, default=20)
    phantoms.add_argument("--abnormal-fraction", type=float, default=0.5)
    phantoms.add_argument("--seed", type=int, default=0)

    demo = sub.add_parser("demo", help="a demo home with synthetic studies (DEMO - synthetic data)")
    demo.add_argument("--headless", action="store_true", help="no window: ingest, score, print the worklist")
    demo.add_argument("--studies", type=int, default=12)
    demo.add_argument("--seed", type=int, help="phantom seed (default: new studies, new accessions each run)")

    from model.training import get_args_parser

    train = sub.add_parser("train", help="train DenseNet-169 (MURA recipe) on MURA or site data; torchrun-ready")
    get_args_parser(parser=train)

    evaluate = sub.add_parser("evaluate", help="study-level metrics of a checkpoint on a dataset")
    evaluate.add_argument("--data", required=True, help="MURA-v1.1 folder or site dataset")
    evaluate.add_argument("--checkpoint", required=True)
    evaluate.add_argument("--split", choices=("valid", "train"), default="valid")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--device", default="auto")
    evaluate.add_argument("--batch-size", type=int, default=8)
    evaluate.add_argument("--workers", type=int, default=0)
    evaluate.add_argument("--val-fraction", type=float, default=0.2, help="site data: as used for training")
    evaluate.add_argument("--seed", type=int, default=0, help="site data: as used for training")
    evaluate.add_argument("--skip-missing", action="store_true")
    evaluate.add_argument("--out", help="also write report.json, report.md and roc.png here")
    evaluate.add_argument("--findings", help="findings.csv with boxes (phantoms): also score CAM localisation")

    export = sub.add_parser("export-dataset", help="write the radiologists' reads as a site dataset")
    export.add_argument("--out", required=True)

    self_test = sub.add_parser("self-test", help="check this installation: decoders, sample study, model, window")
    self_test.add_argument("--json", action="store_true", help="the report as JSON on stdout")
    self_test.add_argument("--no-gui", action="store_true", help="skip the window check")

    model = sub.add_parser("model", help="model checkpoints")
    model_sub = model.add_subparsers(dest="model_command", metavar="ACTION", parser_class=_Parser)
    init = model_sub.add_parser("init", help="write an untrained or ImageNet-initialised checkpoint")
    init.add_argument("--out", required=True, help="checkpoint file to write")
    init.add_argument("--init", default="none", help="none | imagenet | FILE (torchvision DenseNet-169 weights)")
    init.add_argument("--seed", type=int, default=0)
    init.add_argument("--name", default="DenseNet-169")
    info = model_sub.add_parser("info", help="show a checkpoint's metadata")
    info.add_argument("checkpoint")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            from triage_app.commands import window

            return window(args)
        return _dispatch(args)
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    from model.checkpoint import CheckpointError
    from model.datasets import DataError
    from triage_app.config import ConfigError

    try:
        if args.command == "model":
            from triage_app.commands import model_command
            return model_command(args)
        from triage_app import commands
        return {
            "watch": commands.watch,
            "worklist": commands.worklist,
            "score": commands.score,
            "quarantine": commands.quarantine,
            "phantoms": commands.phantoms,
            "demo": commands.demo,
            "train": commands.train,
            "evaluate": commands.evaluate,
            "export-dataset": commands.export_dataset,
            "self-test": commands.self_test,
        }[args.command](args)
    except (CheckpointError, ConfigError, DataError) as exc:
        raise UserError(str(exc)) from None
    except PermissionError as exc:
        raise UserError(f"permission denied: {exc.filename or exc}") from None


__all__ = ["UserError", "build_parser", "main"]
