"""Bundled resources (default configuration, icons, sample study), installed as ``triage_app.resources``."""
