"""pyproject.toml as the build reads it: the license as an SPDX expression (PEP 639), which
setuptools reads from 77 on; the table form it replaces prints a deprecation banner on install."""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement

PYPROJECT = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())


def test_the_license_is_an_spdx_expression_and_the_build_needs_a_setuptools_that_reads_it():
    assert PYPROJECT["project"]["license"] == "MIT"
    requirements = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    (setuptools,) = [r for r in requirements if r.name == "setuptools"]
    assert not setuptools.specifier.contains("76.1") and setuptools.specifier.contains("77.0")
