"""Data and model commands: phantoms, train, evaluate, export-dataset."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from triage_app import NOT_FOR_CLINICAL_USE
from triage_app.commands.common import open_home_for, user_error
from triage_app.logging_setup import setup_logging


# -- phantoms and demo ----------------------------------------------------------------------------
def phantoms(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from model.phantom_datasets import write_dicom_dataset, write_mura_dataset

    out = Path(args.out).expanduser()
    writer = write_dicom_dataset if args.format == "dicom" else write_mura_dataset
    with tqdm(total=args.studies, unit="study", desc="phantoms", file=sys.stderr) as bar:
        try:
            writer(out, args.studies, args.abnormal_fraction, args.seed, progress=bar.update)
        except ValueError as exc:
            raise user_error(str(exc)) from None
    print(f"wrote {args.studies} synthetic {args.format.upper()} studies to {out} (SYNTHETIC PHANTOMS)")
    return 0


# -- train, evaluate, export ----------------------------------------------------------------------
def train(args: argparse.Namespace) -> int:
    from model.training import main as train_main

    setup_logging(None, getattr(args, "verbose", False))
    print(f"MURA Triage trainer - {NOT_FOR_CLINICAL_USE}", file=sys.stderr)
    try:
        return train_main(args)
    except (FileNotFoundError, ValueError) as exc:  # --init weights missing, bad batch split ...
        raise user_error(str(exc).splitlines()[0]) from None


def evaluate(args: argparse.Namespace) -> int:
    from model.report import write_report
    from model.training import evaluate_checkpoint

    setup_logging(None, getattr(args, "verbose", False))
    checked = evaluate_checkpoint(Path(args.data), Path(args.checkpoint), args.split, args.device, args.batch_size,
                                  args.workers, args.val_fraction, args.seed, skip_missing=args.skip_missing)
    result = checked.evaluation
    output = {"overall": result.report["overall"], "by_study_type": result.report["by_study_type"],
              "threshold": result.report["threshold"], "loss": result.loss, "note": NOT_FOR_CLINICAL_USE}
    if args.findings:
        from model.localization import pointing_game, read_findings

        findings = Path(args.findings)
        if not findings.is_file():
            raise user_error(f"findings file not found: {findings}")
        output["localization"] = pointing_game(checked.network, checked.records, read_findings(findings),
                                               findings.parent, checked.image_size)
    if args.out:
        write_report(Path(args.out), result.report, result.labels, result.probabilities,
                     f"MURA Triage evaluation ({args.split})")
    if args.json:
        print(json.dumps(output, indent=2))
        return 0
    from model.report import markdown_table

    print(f"# {NOT_FOR_CLINICAL_USE}\n{markdown_table(result.report)}")
    if "localization" in output:
        game = output["localization"]
        print(f"\nCAM pointing game: {game['hits']}/{game['images']} abnormal images "
              f"({game['pointing_game']:.3f}) with {game['tolerance_px_at_224']:g} px tolerance at 224 px")
        for kind, part in game["by_finding"].items():
            print(f"  {kind}: {part['hits']}/{part['images']} ({part['pointing_game']:.3f})")
    return 0


def export_dataset(args: argparse.Namespace) -> int:
    from triage_app.export import export_reads

    home = open_home_for(args)
    count, images = export_reads(home, Path(args.out).expanduser())
    print(f"exported {count} read studies ({images} files) to {args.out} with labels.csv")
    return 0
