"""PyInstaller hook: python-gdcm is a ``gdcm.py`` wrapper around the ``_gdcm`` package, which holds the
SWIG module, GDCM's shared libraries and its dictionaries (``XML/*.xml``). PyInstaller follows the
wrapper's import but not the data files; without them GDCM cannot parse or decode."""

from PyInstaller.utils.hooks import collect_data_files, collect_dynamic_libs

hiddenimports = ["_gdcm", "_gdcm.gdcmswig", "_gdcm._gdcmswig"]
datas = collect_data_files("_gdcm", subdir="XML")
binaries = collect_dynamic_libs("_gdcm")
