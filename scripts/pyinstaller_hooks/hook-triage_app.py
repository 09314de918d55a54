"""PyInstaller hook for the app itself: its version metadata (``--version`` reads it), every module
(the subcommands import theirs lazily) and the decoder modules pydicom only imports when a file
needs them. The resources package is added by ``triage.spec`` itself: it lives in ``resources/`` and
is only installed as ``triage_app.resources``, which PyInstaller cannot resolve from a checkout."""

from PyInstaller.utils.hooks import collect_submodules, copy_metadata

datas = copy_metadata("mura-triage")
hiddenimports = (
    collect_submodules("triage_app")
    + collect_submodules("model")
    + collect_submodules("pydicom.pixels")
    + ["pylibjpeg", "jpeg_ls", "gdcm", "sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.sqlite.pysqlite"]
)
