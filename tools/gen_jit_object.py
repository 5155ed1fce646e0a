#!/usr/bin/env python3
"""Write the compiled CSV parser's object code into the package (xentropy_cli/io/jit/).

``io/jitcsv.py`` loads ``jit/xent_parse-<triple>-<IR digest>.o`` when one matches the running
process (~2 ms) instead of generating the code with LLVM (~30 ms). Run this after any change to
the parser's IR, with llvmlite installed, on x86-64 Linux (the one triple shipped: the one the
suite runs on here); the old object is removed. ``tests/test_jitcsv.py`` fails while the shipped
object does not match the IR.
"""

from __future__ import annotations

import sys

from xentropy_cli.io import jitcsv


def main() -> int:
    import llvmlite.binding as llvm

    triple = llvm.get_process_triple()
    if triple != jitcsv.SHIPPED_TRIPLE:
        print(f"this process is {triple}; the package ships {jitcsv.SHIPPED_TRIPLE} only", file=sys.stderr)
        return 1
    path = jitcsv.shipped_object_path(triple)
    for old in path.parent.glob(f"xent_parse-{triple}-*.o"):
        if old != path:
            old.unlink()
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(jitcsv.object_code())
    temporary.replace(path)
    print(f"{path} ({path.stat().st_size} bytes, llvmlite {llvm.llvm_version_info})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
