"""PyInstaller hook for the app itself: its resources (icon, default config, the self-test's sample
study and transfer-syntax files), its version metadata (``--version`` reads it) and the decoder
modules pydicom only imports when a file needs them."""

from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

datas = collect_data_files("triage_app.resources") + copy_metadata("mura-triage")
hiddenimports = (
    collect_submodules("triage_app")
    + collect_submodules("model")
    + collect_submodules("pydicom.pixels")
    + ["pylibjpeg", "jpeg_ls", "gdcm", "sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.sqlite.pysqlite"]
)
