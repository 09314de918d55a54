"""About box: version, model card, and the research-use warning."""

from __future__ import annotations

import html
import json

from PySide6.QtWidgets import QMessageBox, QWidget

from model.checkpoint import LoadedCheckpoint
from triage_app import NOT_FOR_CLINICAL_USE, __version__


def model_card(checkpoint: LoadedCheckpoint | None) -> str:
    if checkpoint is None:
        return "No model configured: studies are listed unscored."
    meta = checkpoint.metadata
    training = meta.training
    lines = [f"<b>{html.escape(meta.name)}</b> (version {checkpoint.version}, {meta.architecture}, "
             f"{meta.image_size} px, threshold {meta.threshold:g})"]
    if meta.demo:
        lines.append("<b>DEMO model trained on synthetic phantoms only.</b>")
    if not training.get("trained", False):
        lines.append("Untrained weights: probabilities are meaningless.")
    data = training.get("data")
    if data:
        lines.append(f"Trained on {html.escape(str(data.get('kind')))} data: "
                     f"{data.get('train', {}).get('images', '?')} training images, "
                     f"{data.get('valid', {}).get('images', '?')} validation images; epoch {training.get('epoch')}.")
    overall = training.get("validation", {}).get("overall")
    if overall:
        metrics = {k: overall.get(k) for k in ("auroc", "kappa", "sensitivity", "specificity")}
        lines.append("Validation (study level): " + html.escape(json.dumps(
            {k: round(v, 3) if isinstance(v, float) else v for k, v in metrics.items()})))
    return "<br>".join(lines)


def show_about(parent: QWidget, checkpoint: LoadedCheckpoint | None) -> None:
    QMessageBox.about(parent, "About MURA Triage", about_text(checkpoint))


def about_text(checkpoint: LoadedCheckpoint | None) -> str:
    return (f"<h3>MURA Triage {html.escape(__version__)}</h3>"
            f"<p><b style='color:#cd2d2d'>{NOT_FOR_CLINICAL_USE}</b></p>"
            "<p>Orders upper-extremity radiograph studies by the probability of abnormality from a "
            "DenseNet-169 (Rajpurkar et al., MURA, 2017); class activation maps show where it looked.</p>"
            f"<p>{model_card(checkpoint)}</p>")
