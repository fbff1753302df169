"""Build hook: compiles the capture readers' C core (src/ipowner/capture/_core.c) into the wheel.

Without a C compiler the package still installs and works: captures are read by the per-frame walker
(capture/frame.py: same results, slower), and ``ipowner --version`` says which reader is in use. The
rules the core decides by are not compiled in: it is handed them from capture/rules.py at run time.
``IPOWNER_NO_EXTENSION=1`` skips the build; ``IPOWNER_NO_CORE=1`` at run time leaves a built core unused.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = "src/ipowner/capture/_core.c"
MODULE = "ipowner.capture._core"


class CoreBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel" or os.environ.get("IPOWNER_NO_EXTENSION"):
            return
        try:
            built = _compile(Path(self.root))
        except Exception as exc:  # noqa: BLE001 - no compiler: install the pure-Python walker
            print(f"ipowner: C core not built ({type(exc).__name__}: {exc}); captures are read in pure Python",
                  file=sys.stderr)
            return
        name = built.name
        if version == "editable":
            # an editable install imports from src/: the module goes next to its source
            shutil.copy2(built, Path(self.root) / "src/ipowner/capture" / name)
        else:
            build_data["force_include"][str(built)] = f"ipowner/capture/{name}"
        build_data["pure_python"] = False
        build_data["infer_tag"] = True


def _compile(root: Path) -> Path:
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    out = Path(tempfile.mkdtemp(prefix="ipowner-core-"))
    ext = Extension(MODULE, [str(root / SOURCE)], extra_compile_args=["-O2", "-std=c11"])
    dist = Distribution({"name": "ipowner-core", "ext_modules": [ext]})
    cmd = build_ext(dist)
    cmd.build_lib = str(out / "lib")
    cmd.build_temp = str(out / "tmp")
    cmd.ensure_finalized()
    cmd.run()
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    built = out / "lib" / "ipowner" / "capture" / f"_core{suffix}"
    if not built.exists():
        raise FileNotFoundError(built)
    return built
