"""Where importers find their files: the data folder, installed packages, or paths given."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import util
from pathlib import Path

from features.case2code.importing.base import MissingSource


@dataclass(frozen=True)
class ImportContext:
    data_dir: Path  # PORTAL_DATA_DIR: the CMS files (hcpcs/, mpfs/, icd10cm-index/, ...)
    files: dict[str, Path] = field(default_factory=dict)  # code set -> a file given explicitly

    def data_file(self, relative: str) -> Path:
        path = self.data_dir / relative
        if not path.exists():
            raise MissingSource(f"{path} is not on this machine (set PORTAL_DATA_DIR)")
        return path

    def package_file(self, package: str, relative: str) -> Path:
        spec = util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise MissingSource(f"the Python package {package!r} is not installed")
        path = Path(next(iter(spec.submodule_search_locations))) / relative
        if not path.exists():
            raise MissingSource(f"{relative} is missing from the package {package!r}")
        return path
