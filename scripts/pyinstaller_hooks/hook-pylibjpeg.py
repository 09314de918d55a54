"""PyInstaller hook: keep pylibjpeg's decoder plugins in a frozen build.

pylibjpeg (and so pydicom) finds its plugins (pylibjpeg-openjpeg, pylibjpeg-rle, pylibjpeg-libjpeg)
through ``importlib.metadata`` entry points in the ``pylibjpeg.*`` groups. PyInstaller sees neither
the plugin modules (imported by name at run time) nor their ``entry_points.txt``, so a frozen app
silently loses JPEG 2000 and RLE decoding. This hook asks the build environment which distributions
provide such entry points and collects their modules and metadata.
"""

from importlib import metadata

from PyInstaller.utils.hooks import collect_submodules, copy_metadata

hiddenimports: list[str] = []
datas = copy_metadata("pylibjpeg")

for distribution in metadata.distributions():
    plugins = [ep for ep in distribution.entry_points if ep.group.startswith("pylibjpeg.")]
    if not plugins:
        continue
    datas += copy_metadata(distribution.metadata["Name"])
    for module in sorted({ep.value.split(":")[0] for ep in plugins}):
        hiddenimports += collect_submodules(module.split(".")[0])
