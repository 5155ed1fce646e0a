"""Keep README.md honest: re-run every ```console block's `$ ` commands and compare the output.

Tables made by a script stand between `<!-- run: COMMAND -->` and `<!-- /run -->`.

    python tools/readme.py --check   # exit 1 and show a diff when the README is out of date
    python tools/readme.py --write   # rewrite the outputs in place

Commands run with bash from the repository root, stderr merged into stdout, COLUMNS=80, no colour.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(r"```console\n(.*?)```", re.S)
# <!-- run: COMMAND --> … <!-- /run -->: the command's stdout pasted as Markdown (tables)
GENERATED = re.compile(r"<!-- run: (.*?) -->\n(.*?)<!-- /run -->", re.S)


def run(command: str) -> str:
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("FORCE_COLOR", None)
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, timeout=120)
    return done.stdout


def refresh(block: str) -> str:
    out = []
    for line in block.splitlines():
        if line.startswith("$ "):
            out.append(line)
            out.append(run(line[2:]).rstrip("\n"))
    return "\n".join(out) + "\n"


def render(text: str) -> str:
    text = BLOCK.sub(lambda m: "```console\n" + refresh(m.group(1)) + "```", text)
    return GENERATED.sub(lambda m: f"<!-- run: {m.group(1)} -->\n{run(m.group(1)).strip()}\n<!-- /run -->",
                         text)


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    new = render(text)
    if "--write" in argv:
        README.write_text(new, encoding="utf-8")
        return 0
    if new != text:
        sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), new.splitlines(True),
                                                   "README.md", "README.md (as run now)"))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
