"""The package that generated modules are imported as: `netgen.generated.<name>_<digest>`.

`netgen.load` writes the generated source to a cache folder and imports it under this package,
so its classes have a real module and qualified name: a model pickles by reference
(`torch.save(model)`, DataLoader workers, `torch.multiprocessing.spawn`) and any process that
can import netgen finds the class again, in the file of that name. The folder is
$NETGEN_CACHE_DIR, else $XDG_CACHE_HOME/netgen/generated, else ~/.cache/netgen/generated. The
name ends in a digest of the source, so one name always means one text. No torch import here.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Where generated modules are written (not created here)."""
    explicit = os.environ.get("NETGEN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "netgen" / "generated"


__path__.append(str(cache_dir()))  # noqa: F821 (a package's __path__ is defined by the import system)
