"""Every example in README.md, re-run: the README shows only output this version really prints."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("xent") is None, reason="the xent command is not installed")
def test_readme_examples_print_what_the_readme_shows():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "readme.py"), "--check"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:]
