"""objload: an LLVM object file mapped into this process without LLVM (x86-64 Linux).

The objects here are made by llvmlite with the compiled parser's own target machine (the JIT's
large code model: every relocation an absolute R_X86_64_64), so they are laid out as the
shipped parser's is; what they return is checked against values written in the test."""

from __future__ import annotations

import ctypes
import struct
import subprocess
import sys

import pytest

pytest.importorskip("llvmlite")

from xentropy_cli import objload  # noqa: E402
from xentropy_cli.io import jitcsv  # noqa: E402

pytestmark = pytest.mark.skipif(not objload.supported(), reason="object code is mapped on x86-64 Linux only")

_IR = r"""
@table = internal constant [4 x double] [double 0.5, double 0.25, double 1.0e23, double -7.0]

declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)

define double @pick(i64 %i) {
  %at = getelementptr [4 x double], ptr @table, i64 0, i64 %i
  %value = load double, ptr %at
  ret double %value
}

define void @copy(ptr %to, ptr %from, i64 %n) {
  call void @llvm.memcpy.p0.p0.i64(ptr %to, ptr %from, i64 %n, i1 false)
  ret void
}
"""


@pytest.fixture(scope="module")
def code() -> bytes:
    llvm, machine = jitcsv._target()
    module = llvm.parse_assembly(_IR)
    module.triple, module.data_layout = machine.triple, str(machine.target_data)
    return bytes(machine.emit_object(module))


def _libc_memcpy() -> dict[str, int]:
    return {"memcpy": objload.memcpy_address()}


def test_a_constant_table_and_a_call_to_memcpy_are_relocated(code):
    pick = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_int64)(objload.load(code, "pick", _libc_memcpy()))
    assert [pick(i) for i in range(4)] == [0.5, 0.25, 1e23, -7.0]
    copy = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int64)(
        objload.load(code, "copy", _libc_memcpy()))
    target = ctypes.create_string_buffer(12)
    copy(target, b"cross entropy", 11)
    assert target.raw == b"cross entro\0"


def test_the_code_is_mapped_read_and_execute_never_writable(code):
    address = objload.load(code, "pick", _libc_memcpy())
    with open("/proc/self/maps") as maps:
        for line in maps:
            start, stop = (int(x, 16) for x in line.split()[0].split("-"))
            if start <= address < stop:
                assert line.split()[1] == "r-xp"
                return
    pytest.fail("the code's address is not mapped")


def _relocation_types(code: bytes) -> list[int]:
    """Where each relocation's type sits in the file, for the test that changes one."""
    sections = objload._sections(code)
    placed = objload._layout(sections)
    return [header[4] + i * 24 + 8 for header in sections if header[1] == 4 and header[7] in placed
            for i in range(header[5] // 24)]


@pytest.mark.parametrize("damage, message", [
    ("not elf", "not a little-endian 64-bit ELF file"),
    ("truncated", "the section headers are not whole"),
    ("no symbol", "the object has no 'parse'"),
    ("no memcpy", "the object calls 'memcpy', which is not given"),
    ("relocation", "relocation type 2 \\(only R_X86_64_64 is applied\\)"),
    ("alignment", "a section aligned to 1099511627776 bytes"),
])
def test_what_it_cannot_map_it_refuses(code, damage, message):
    """Each refusal is a ValueError: jitcsv then asks LLVM, as it did before objload."""
    symbol, externals = ("parse" if damage == "no symbol" else "copy"), _libc_memcpy()
    if damage == "not elf":
        code = b"junk" + code[4:]
    elif damage == "truncated":
        code = code[:200]
    elif damage == "no memcpy":
        externals = {}
    elif damage == "alignment":  # a damaged header must not ask for terabytes of memory
        sections = objload._sections(code)
        offset, = struct.unpack_from("<Q", code, 0x28)
        index = min(objload._layout(sections))
        at = offset + index * 64 + 48  # sh_addralign
        code = code[:at] + struct.pack("<Q", 1 << 40) + code[at + 8:]
    elif damage == "relocation":
        first = _relocation_types(code)[0]
        code = code[:first] + struct.pack("<I", 2) + code[first + 4:]  # R_X86_64_PC32
    with pytest.raises(ValueError, match=message):
        objload.load(code, symbol, externals)


def test_a_kernel_that_refuses_executable_memory_leaves_the_parser_to_llvm(monkeypatch):
    """SELinux's execmem and hardened kernels refuse PROT_EXEC on anonymous memory: LLVM then
    loads the same object, and the values are the same."""
    def refuse(base, size, protection):
        raise OSError(13, "mprotect refused executable memory")

    monkeypatch.setattr(objload, "_protect", refuse)
    monkeypatch.setattr(jitcsv, "MADE", jitcsv.MADE)  # restored after: --verbose tests read it
    jitcsv._compile.cache_clear()
    try:
        function, engine = jitcsv._compiled()
        assert engine is not None and jitcsv.MADE == "its shipped object code loaded by LLVM"
        parser = jitcsv.Jit(type("Layout", (), {"used": [0, 1], "n_columns": 2, "delimiter": ","})())
        assert parser.parse(b"0.25,3.2484673e-05\n1,1e23\n").tolist() == [[0.25, 3.2484673e-05], [1.0, 1e23]]
    finally:
        jitcsv._compile.cache_clear()


def test_a_run_that_maps_the_parser_never_imports_llvm():
    """What objload is for: a fresh process gets the parser without ``llvmlite.binding`` (its
    import and LLVM's library: ~10 ms and ~20 MB of a streamed run, bench/README.md)."""
    script = ("import sys\nfrom types import SimpleNamespace\nfrom xentropy_cli.io import jitcsv\n"
              "parser = jitcsv.Jit(SimpleNamespace(used=[0, 1], n_columns=2, delimiter=','))\n"
              "print(parser.parse(b'0.0180537,7\\n').tolist(), jitcsv.MADE,\n"
              "      'llvmlite.binding' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout == "[[0.0180537, 7.0]] its shipped object code, mapped without LLVM False\n"


def test_damaged_objects_are_refused_with_a_value_error_never_anything_else():
    """Seeded damage to the shipped object's headers and tables (behind its CRC, which the run
    checks first): ``load`` maps it or raises ValueError, which sends the run to LLVM; never a
    MemoryError, OverflowError or crash. The damaged code is never called."""
    import random

    shipped = jitcsv._shipped_object(jitcsv.SHIPPED_TRIPLE)
    assert shipped is not None
    rng = random.Random(20261203)
    headers, = struct.unpack_from("<Q", shipped, 0x28)
    for _ in range(400):
        damaged = bytearray(shipped)
        for _ in range(rng.randint(1, 3)):
            at = rng.choice([rng.randrange(64), rng.randrange(headers, len(shipped)),
                             rng.randrange(len(shipped))])
            damaged[at] = rng.randrange(256) if rng.random() < 0.5 else damaged[at] ^ (1 << rng.randrange(8))
        try:
            objload.load(bytes(damaged), "xent_parse", _libc_memcpy())
        except ValueError:
            pass
