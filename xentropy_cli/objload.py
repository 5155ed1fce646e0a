"""Map an ELF object file's code into this process without LLVM (x86-64 Linux).

The compiled parser's shipped object code (``io/jit/``, made by LLVM for its JIT's large code
model) needs no linker: its sections are laid out in one anonymous mapping, each relocation is
``R_X86_64_64``, an absolute address written as S + A (the symbol's address plus the addend),
and the mapping is then made read + execute (never writable and executable at once). Asking
LLVM to do the same costs ``import llvmlite.binding`` (20–45 ms of Python) and LLVM's library in
memory: a streamed run on the headline file takes ~10 ms and ~20 MB of peak memory less without
them (bench/README.md). It lives here, not in ``io``, so that ``engines`` can ask ``supported()``
before numpy is imported.

Anything else (another machine or file type, another relocation, a symbol not given) raises
ValueError; memory the kernel will not make executable raises OSError. The caller then asks
LLVM, which decides as it always did. The mapping is never unmapped: the code lives as long as
the process, as the parser does.
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys
from collections.abc import Iterator
from functools import lru_cache

# name, type, flags, address, offset, size, link, info, alignment, entry size
_SECTION = struct.Struct("<IIQQQQIIQQ")
_SYMBOL = struct.Struct("<IBBHQQ")  # name, info, other, section, value, size
_RELOCATION = struct.Struct("<QQq")  # offset, info (symbol << 32 | type), addend

_SHT_SYMTAB, _SHT_RELA, _SHT_NOBITS, _SHT_X86_64_UNWIND = 2, 4, 8, 0x70000001
_SHF_ALLOC = 0x2
_R_X86_64_64 = 1
_PROT_READ, _PROT_WRITE, _PROT_EXEC = 1, 2, 4
_MAP_PRIVATE, _MAP_ANONYMOUS = 0x02, 0x20
_PAGE = 4096  # x86-64's page, the least mmap gives
_MAX_BYTES = 1 << 24  # the parser's code and tables take 4 KB; a damaged header could ask for any size


def supported() -> bool:
    """True on 64-bit x86-64 Linux, the one system whose object code the package ships."""
    return sys.platform.startswith("linux") and os.uname().machine == "x86_64" and sys.maxsize > 2**32


def load(code: bytes, symbol: str, externals: dict[str, int]) -> int:
    """The address of ``symbol`` in the relocatable ELF object ``code``, mapped read + execute
    with its relocations applied; ``externals`` gives the addresses of the symbols it calls.
    Everything is resolved before any memory is mapped, so a refusal leaves nothing behind."""
    try:
        sections = _sections(code)
        placed = _layout(sections)
        symbols = _symbols(code, sections)
        entry = _defined(symbol, symbols, sections, placed)
        patches = [(placed[section] + offset, _target(symbols[index], sections, placed, externals), addend)
                   for section, offset, index, addend in _relocations(code, sections, placed)]
    except (struct.error, IndexError) as error:
        raise ValueError(f"a damaged object file: {error}") from None
    size = max(start + sections[index][5] for index, start in placed.items())
    image = bytearray(size)
    for index, start in placed.items():
        if sections[index][1] != _SHT_NOBITS:
            offset, length = sections[index][4], sections[index][5]
            image[start:start + length] = code[offset:offset + length]
    base = _map(size)
    try:
        for at, (outside, value), addend in patches:
            target = value if outside else base + value
            struct.pack_into("<Q", image, at, (target + addend) % 2**64)
        ctypes.memmove(base, (ctypes.c_char * size).from_buffer(image), size)
        _protect(base, size, _PROT_READ | _PROT_EXEC)
    except BaseException:
        _libc().munmap(base, size)
        raise
    return base + entry


def _defined(name: str, symbols: list[tuple[str, int, int]], sections: list[tuple[int, ...]],
             placed: dict[int, int]) -> int:
    """Where the symbol ``name`` defined in a mapped section starts in the mapping."""
    for entry_name, section, value in symbols:
        if entry_name == name and section in placed and value < sections[section][5]:
            return placed[section] + value
    raise ValueError(f"the object has no {name!r}")


def _target(entry: tuple[str, int, int], sections: list[tuple[int, ...]], placed: dict[int, int],
            externals: dict[str, int]) -> tuple[bool, int]:
    """A relocation's symbol as (True, its address outside) or (False, its offset in the mapping)."""
    name, section, value = entry
    if section == 0:
        if name not in externals:
            raise ValueError(f"the object calls {name!r}, which is not given")
        return True, externals[name]
    if section not in placed or value > sections[section][5]:
        raise ValueError(f"a symbol in section {section}, which is not mapped")
    return False, placed[section] + value


def _sections(code: bytes) -> list[tuple[int, ...]]:
    """The section headers of a little-endian, 64-bit, relocatable x86-64 ELF file."""
    if code[:6] != b"\x7fELF\x02\x01" or len(code) < 64:
        raise ValueError("not a little-endian 64-bit ELF file")
    kind, machine = struct.unpack_from("<HH", code, 16)
    if (kind, machine) != (1, 62):  # ET_REL, EM_X86_64
        raise ValueError("not an x86-64 relocatable object")
    offset, = struct.unpack_from("<Q", code, 0x28)
    entry_size, count = struct.unpack_from("<HH", code, 0x3A)
    if entry_size != _SECTION.size or offset + count * entry_size > len(code):
        raise ValueError("the section headers are not whole")
    sections = [_SECTION.unpack_from(code, offset + i * entry_size) for i in range(count)]
    for header in sections:
        if header[1] != _SHT_NOBITS and header[4] + header[5] > len(code):
            raise ValueError("a section runs past the end of the file")
    return sections


def _layout(sections: list[tuple[int, ...]]) -> dict[int, int]:
    """Where each section the code needs starts in the mapping (allocated sections, each at its
    alignment; not the unwind tables, which nothing here reads)."""
    placed, end = {}, 0
    for index, header in enumerate(sections):
        if header[2] & _SHF_ALLOC and header[1] != _SHT_X86_64_UNWIND and header[5]:
            align = max(header[8], 1)
            if align & (align - 1) or align > _PAGE:  # the mapping itself is only page-aligned
                raise ValueError(f"a section aligned to {align} bytes")
            end = -(-end // align) * align
            placed[index] = end
            end += header[5]
            if end > _MAX_BYTES:
                raise ValueError("more code and data than a parser has")
    if not placed:
        raise ValueError("the object has no code")
    return placed


def _symbols(code: bytes, sections: list[tuple[int, ...]]) -> list[tuple[str, int, int]]:
    """The symbol table as (name, section index, value): section 0 is undefined (external)."""
    tables = [header for header in sections if header[1] == _SHT_SYMTAB]
    if len(tables) != 1:
        raise ValueError("not one symbol table")
    table = tables[0]
    strings = sections[table[6]]
    names = code[strings[4]:strings[4] + strings[5]]
    entries = []
    for i in range(table[5] // _SYMBOL.size):
        name, _info, _other, section, value, _size = _SYMBOL.unpack_from(code, table[4] + i * _SYMBOL.size)
        entries.append((names[name:names.index(b"\0", name)].decode(), section, value))
    return entries


def _relocations(code: bytes, sections: list[tuple[int, ...]],
                 placed: dict[int, int]) -> Iterator[tuple[int, int, int, int]]:
    """The relocations of the mapped sections as (section, offset in it, symbol, addend)."""
    for header in sections:
        if header[1] != _SHT_RELA or header[7] not in placed:
            continue  # not relocations, or those of what is not mapped (the unwind tables)
        for i in range(header[5] // _RELOCATION.size):
            offset, info, addend = _RELOCATION.unpack_from(code, header[4] + i * _RELOCATION.size)
            if info & 0xFFFFFFFF != _R_X86_64_64:
                raise ValueError(f"relocation type {info & 0xFFFFFFFF} (only R_X86_64_64 is applied)")
            if offset + 8 > sections[header[7]][5]:
                raise ValueError("a relocation past the end of its section")
            yield header[7], offset, info >> 32, addend


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                          ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    return libc


def _map(size: int) -> int:
    """Fresh read + write pages for ``size`` bytes."""
    base = _libc().mmap(None, size, _PROT_READ | _PROT_WRITE, _MAP_PRIVATE | _MAP_ANONYMOUS, -1, 0)
    if base is None or base == 2**64 - 1:  # MAP_FAILED
        raise OSError(ctypes.get_errno(), "mmap refused")
    return int(base)


def _protect(base: int, size: int, protection: int) -> None:
    if _libc().mprotect(base, size, protection) != 0:
        raise OSError(ctypes.get_errno(), "mprotect refused executable memory")


def memcpy_address() -> int:
    """The C library's memcpy, which LLVM's code calls for copies it does not inline."""
    address = ctypes.cast(_libc().memcpy, ctypes.c_void_p).value
    if not address:
        raise OSError("no memcpy in this process")
    return address
