"""The training/evaluation report: ``report.json``, ``report.md`` (the paper's Table 2 layout) and ``roc.png``."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw

from model.metrics import roc_curve
from model.study_types import STUDY_TYPES

NOT_FOR_CLINICAL_USE = "Research tool - not for clinical use."


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown_table(report: dict) -> str:
    """Rows per study type and overall: kappa with its 95% CI, AUROC, sensitivity, specificity, accuracy."""
    lines = [
        "| study type | studies | kappa (95% CI) | AUROC | sensitivity | specificity | accuracy | TP | FP | TN | FN |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    order = [t for t in STUDY_TYPES if t in report["by_study_type"]] + sorted(
        t for t in report["by_study_type"] if t not in STUDY_TYPES)
    rows = [(t.title(), report["by_study_type"][t]) for t in order] + [("**Overall**", report["overall"])]
    for name, m in rows:
        ci = m["kappa_ci"]
        kappa = "-" if m["kappa"] is None else f"{m['kappa']:.3f} ({ci[0]:.3f}, {ci[1]:.3f})"
        rates = " | ".join(_fmt(m[k]) for k in ("auroc", "sensitivity", "specificity", "accuracy"))
        counts = " | ".join(str(m[k]) for k in ("tp", "fp", "tn", "fn"))
        lines.append(f"| {name} | {m['n_studies']} | {kappa} | {rates} | {counts} |")
    return "\n".join(lines)


def draw_roc(path: Path, labels: list[int], probabilities: list[float], title: str) -> None:
    """A plain ROC plot drawn with Pillow (no plotting library needed in the installer)."""
    size, margin = 480, 60
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    span = size - 2 * margin

    def point(fpr: float, tpr: float) -> tuple[float, float]:
        return margin + fpr * span, size - margin - tpr * span

    draw.rectangle([margin, margin, size - margin, size - margin], outline="black")
    draw.line([point(0, 0), point(1, 1)], fill=(170, 170, 170), width=1)
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, y = point(tick, tick)
        draw.text((x - 10, size - margin + 6), f"{tick:.2f}", fill="black")
        draw.text((margin - 40, y - 6), f"{tick:.2f}", fill="black")
    if len(set(labels)) == 2:
        fpr, tpr = roc_curve(labels, probabilities)
        draw.line([point(float(f), float(t)) for f, t in zip(fpr, tpr, strict=True)], fill=(200, 30, 30), width=3)
    draw.text((margin, 18), title, fill="black")
    draw.text((size // 2 - 60, size - 24), "1 - specificity (FPR)", fill="black")
    draw.text((6, margin - 24), "sensitivity (TPR)", fill="black")
    image.save(path)


def write_report(out: Path, report: dict, labels: list[int], probabilities: list[float], title: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps({**report, "note": NOT_FOR_CLINICAL_USE}, indent=2))
    auroc = report["overall"]["auroc"]
    draw_roc(out / "roc.png", labels, probabilities, f"{title} - study-level AUROC {_fmt(auroc)}")
    (out / "report.md").write_text(
        f"# {title}\n\n{NOT_FOR_CLINICAL_USE}\n\nStudy-level results (views averaged, threshold "
        f"{report['threshold']}). Kappa CI: kappa +/- 1.96 SE, SE = sqrt(p_o(1-p_o)/(n(1-p_e)^2)).\n\n"
        f"{markdown_table(report)}\n\n![ROC](roc.png)\n"
    )
