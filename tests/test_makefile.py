"""The Makefile: `make help` lists every target, so none is a secret."""

import re
import shutil
import subprocess

import pytest

from tests.helpers import ROOT


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_help_lists_every_target():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.search(r"^\.PHONY:(.*)$", makefile, re.M)[1].split())
    rules = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.M))
    assert targets == rules  # every rule is phony (none makes a file of its name), and every phony has a rule
    listed = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert {line.split()[1] for line in listed.splitlines()} == targets
