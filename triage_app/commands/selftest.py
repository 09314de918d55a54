"""``mura-triage self-test``: a short report, exit 0 when every step passed, 1 naming the failed step."""

from __future__ import annotations

import argparse
import json
import sys

from triage_app import NOT_FOR_CLINICAL_USE


def self_test(args: argparse.Namespace) -> int:
    from triage_app.selftest import run_self_test

    def echo(line: str) -> None:
        print(line, file=sys.stderr if args.json else sys.stdout, flush=True)

    echo(f"MURA Triage self-test - {NOT_FOR_CLINICAL_USE}")
    report = run_self_test(include_gui=not args.no_gui, echo=echo)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    total = sum(step.seconds for step in report.steps)
    if report.ok:
        echo(f"self-test passed ({len(report.steps)} steps, {total:.1f} s; version {report.version}"
             f"{', frozen' if report.frozen else ''})")
        return 0
    echo(f"self-test FAILED at step '{report.failed_step}'")
    return 1
