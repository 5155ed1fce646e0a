"""A compiled parser for chunks of CSV/TSV numbers (the ``fast`` extra's reader): llvmlite JIT.

The function below, in LLVM IR, is compiled once per process by llvmlite (LLVM's code generator:
~0.03 s, and ~0.02 s to import llvmlite's binding; no C compiler is needed), or, on x86-64 Linux,
its object code made from this IR by ``tools/gen_jit_object.py`` and shipped in ``io/jit/`` is
mapped into the process by ``objload`` without loading LLVM at all (<1 ms: the same code for a
generic x86-64 CPU; LLVM loads it where the kernel refuses). It is called through ctypes, which
releases the GIL. It reads a chunk of whole lines of ``n_columns`` numbers each into a
(rows, n_columns) float64 array, one pass over the bytes (eight digits at a time as one word; a
one-digit cell such as a label at once; a digit and a dot, as in ``0.0180537`` or ``3.2e-05``,
straight to the digits after the dot, and after ``0.`` past its zeros), and gives ``float()``'s
bits for every cell:

- grammar: ``[+-]? digits [. digits] [(e|E) [+-]? digits]`` with at least one mantissa digit,
  cells separated by the delimiter, lines by ``\n`` or ``\r\n``. Anything else (spaces, quotes,
  nan, inf, an empty cell, a ragged line, a lone ``\r``) makes the whole chunk return -1: the
  numpy reader then reads it and decides (a value, or the in-memory reader's error at file:line).
- value: the significant digits M (at most 19, so M < 2^64) and the decimal exponent q. M = 0
  is ±0. M ≤ 2^53 and |q| ≤ 22 (after moving M's trailing zeros into q when needed): one
  correctly rounded IEEE multiply or divide, M and 10^|q| both exact (Clinger's fast path).
  Otherwise Eisel–Lemire (Go's ``strconv.eiselLemire64``, with ``io.decimals``' 128-bit table of
  10^q rounded down): the 64×128-bit product gives 54 bits and decides the rounding, or says it
  cannot (halfway cases, products too close to call, subnormal or infinite results).
- the cells it cannot decide, and those with more than 19 significant digits, are listed
  (cell, first byte, last byte + 1) and read by ``float()`` afterwards: every cell ends correctly
  rounded. ``tests/test_jitcsv.py`` compares every cell with ``float()`` on random and hard
  cases, and feeds it random bytes.
"""

from __future__ import annotations

import math
import os
import struct
import sys
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from xentropy_cli import objload
from xentropy_cli.io import decimals, fastcsv

READER = "llvmlite"
SHIPPED_TRIPLE = "x86_64-unknown-linux-gnu"  # the one triple whose object code the package carries
HARD_CELLS = 4096  # room for cells left to float() (a chunk that has more is parsed again)

# 10^0 … 10^22 as doubles (exact: float() of an integer rounds correctly, and these need no rounding)
_POWERS = ", ".join(f"double 0x{struct.unpack('<Q', struct.pack('<d', float(10 ** k)))[0]:016X}"
                    for k in range(23))

_IR = r"""
; parse(p, n, ncols, delim, out, maxcells, tenhi, tenlo, hard, maxhard, nhard) -> cells, or -1
; (not this grammar) or -2 (more than maxhard cells for float()); p[n - 1] must be '\n'.

declare i64 @llvm.cttz.i64(i64, i1)
declare i64 @llvm.ctlz.i64(i64, i1)
declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)

@p10 = private unnamed_addr constant [23 x double] [P10]
@u10 = private unnamed_addr constant [9 x i64] [i64 1, i64 10, i64 100, i64 1000, i64 10000,
    i64 100000, i64 1000000, i64 10000000, i64 100000000]

; The run of digits at p[pos] (up to 8): { its value, its length k }. The 8 bytes at pos are read
; as one little-endian word (bytes past n read as '\n'); byte x is a digit iff x ^ '0' <= 9, which
; holds iff neither x ^ '0' nor (x ^ '0') + 6 reaches 16; k is the index of the first byte that is
; not. The k digits are shifted to the top of the word (the first one at byte 8 - k) and summed
; by three multiply-shift steps (fast_float's parse_eight_digits_unrolled).
define internal { i64, i64 } @run8(ptr %p, i64 %pos, i64 %n) alwaysinline {
entry:
  %tmp = alloca i64
  %src = getelementptr i8, ptr %p, i64 %pos
  %room = sub i64 %n, %pos
  %full = icmp uge i64 %room, 8
  br i1 %full, label %whole, label %tail
whole:
  %w1 = load i64, ptr %src, align 1
  br label %scan
tail:
  store i64 723401728380766730, ptr %tmp          ; 0x0A0A0A0A0A0A0A0A
  call void @llvm.memcpy.p0.p0.i64(ptr %tmp, ptr %src, i64 %room, i1 false)
  %w2 = load i64, ptr %tmp
  br label %scan
scan:
  %w = phi i64 [ %w1, %whole ], [ %w2, %tail ]
  %a = xor i64 %w, 3472328296227680304              ; 0x3030303030303030
  %a6 = add i64 %a, 434041037028460038              ; 0x0606060606060606
  %or = or i64 %a, %a6
  %flags = and i64 %or, -1085102592571150096        ; 0xF0F0F0F0F0F0F0F0
  %tz = call i64 @llvm.cttz.i64(i64 %flags, i1 false)
  %k = lshr i64 %tz, 3
  %none = icmp eq i64 %k, 0
  br i1 %none, label %empty, label %digits
empty:
  ret { i64, i64 } { i64 0, i64 0 }
digits:
  %k8 = shl i64 %k, 3
  %sh = sub i64 64, %k8
  %d = shl i64 %a, %sh
  %d10 = mul i64 %d, 10
  %d8 = lshr i64 %d, 8
  %v1 = add i64 %d10, %d8
  %lo = and i64 %v1, 1095216660735                  ; 0x000000FF000000FF
  %lo2 = mul i64 %lo, 4294967296000100               ; 100 + (1000000 << 32)
  %v16 = lshr i64 %v1, 16
  %hi = and i64 %v16, 1095216660735
  %hi2 = mul i64 %hi, 42949672960001                 ; 1 + (10000 << 32)
  %sum = add i64 %lo2, %hi2
  %value = lshr i64 %sum, 32
  %r0 = insertvalue { i64, i64 } undef, i64 %value, 0
  %r1 = insertvalue { i64, i64 } %r0, i64 %k, 1
  ret { i64, i64 } %r1
}

; The run of digits at p[*pos] taken into the mantissa: M = M·10^k + run, *nd += k, *pos += k;
; returns k (8: there may be more).
define internal i64 @digits(ptr %p, i64 %n, ptr %pos, ptr %man, ptr %nd) alwaysinline {
entry:
  %at = load i64, ptr %pos
  %r = call { i64, i64 } @run8(ptr %p, i64 %at, i64 %n)
  %v = extractvalue { i64, i64 } %r, 0
  %k = extractvalue { i64, i64 } %r, 1
  %pp = getelementptr [9 x i64], ptr @u10, i64 0, i64 %k
  %scale = load i64, ptr %pp
  %m = load i64, ptr %man
  %m1 = mul i64 %m, %scale
  %m2 = add i64 %m1, %v
  store i64 %m2, ptr %man
  %d = load i64, ptr %nd
  %d1 = add i64 %d, %k
  store i64 %d1, ptr %nd
  %at1 = add i64 %at, %k
  store i64 %at1, ptr %pos
  ret i64 %k
}

; The byte that ends a cell of column *col: the delimiter, or '\n' after the last column.
define internal i8 @separator(ptr %col, i64 %ncols, i8 %delim) alwaysinline {
entry:
  %c = load i64, ptr %col
  %lastcol = sub i64 %ncols, 1
  %last = icmp eq i64 %c, %lastcol
  %want = select i1 %last, i8 10, i8 %delim
  ret i8 %want
}

; The column of the next cell: the next one, or the first after the last.
define internal void @next_column(ptr %col, i64 %ncols) alwaysinline {
entry:
  %c = load i64, ptr %col
  %c1 = add i64 %c, 1
  %wrap = icmp eq i64 %c1, %ncols
  %c2 = select i1 %wrap, i64 0, i64 %c1
  store i64 %c2, ptr %col
  ret void
}

define i64 @xent_parse(ptr noalias %p, i64 %n, i64 %ncols, i8 %delim, ptr noalias %out, i64 %maxcells,
                       ptr noalias %tenhi, ptr noalias %tenlo, ptr noalias %hard, i64 %maxhard,
                       ptr noalias %nhard) {
entry:
  %pos = alloca i64
  %cell = alloca i64
  %col = alloca i64
  %nh = alloca i64
  %start = alloca i64
  %neg = alloca i64
  %man = alloca i64
  %nd = alloca i64
  %q = alloca i64
  %first = alloca i64
  store i64 0, ptr %pos
  store i64 0, ptr %cell
  store i64 0, ptr %col
  store i64 0, ptr %nh
  br label %cell_start

; --- one cell: [+-]? digits* (. digits*)? ([eE] [+-]? digits+)? ----------------------------------
cell_start:
  %cs.pos = load i64, ptr %pos
  %cs.end = icmp sge i64 %cs.pos, %n
  br i1 %cs.end, label %done, label %cs.room
cs.room:
  %cs.cell = load i64, ptr %cell
  %cs.full = icmp sge i64 %cs.cell, %maxcells
  br i1 %cs.full, label %fail, label %cs.go
cs.go:
  store i64 %cs.pos, ptr %start
  store i64 0, ptr %man
  store i64 0, ptr %nd
  store i64 0, ptr %q
  %cs.ptr = getelementptr i8, ptr %p, i64 %cs.pos
  %cs.c = load i8, ptr %cs.ptr
  %od.d8 = sub i8 %cs.c, 48
  %od.isd = icmp ult i8 %od.d8, 10
  br i1 %od.isd, label %one_check, label %cs.signs

; one digit and a dot (most probabilities, every %e cell): straight to the digits after the dot;
; after "0." the zeros that follow (up to 8, found in one word) go to q, not into the runs of
; digits, so 0.0008272674 takes one run of eight instead of two. nd counts one zero of them all,
; and first is that zero (the last one skipped, or the "0"): a cell of more than 19 digits that
; counts its leading zeros again from first subtracts the one nd counted.
digit_dot:
  %dd.p2 = add i64 %cs.pos, 2
  %dd.m = zext i8 %od.d8 to i64
  store i64 0, ptr %neg
  store i64 %cs.pos, ptr %first
  store i64 %dd.m, ptr %man
  store i64 1, ptr %nd
  %dd.zero = icmp eq i8 %od.d8, 0
  br i1 %dd.zero, label %zero_skip, label %dd.go
dd.go:
  store i64 %dd.p2, ptr %pos
  br label %frac_loop
zero_skip:
  %zs.room = sub i64 %n, %dd.p2
  %zs.full = icmp uge i64 %zs.room, 8
  br i1 %zs.full, label %zs.whole, label %dd.go
zs.whole:
  %zs.src = getelementptr i8, ptr %p, i64 %dd.p2
  %zs.w = load i64, ptr %zs.src, align 1
  %zs.x = xor i64 %zs.w, 3472328296227680304
  %zs.tz = call i64 @llvm.cttz.i64(i64 %zs.x, i1 false)
  %zs.z = lshr i64 %zs.tz, 3
  %zs.pos = add i64 %dd.p2, %zs.z
  %zs.q = sub i64 0, %zs.z
  store i64 %zs.q, ptr %q
  %zs.none = icmp eq i64 %zs.z, 0
  %zs.last = sub i64 %zs.pos, 1
  %zs.first = select i1 %zs.none, i64 %cs.pos, i64 %zs.last
  store i64 %zs.first, ptr %first
  store i64 %zs.pos, ptr %pos
  br label %frac_loop

; a cell of one digit (a label, a one-hot target): its value, at once
one_check:                                           ; p[pos] is a digit, so pos + 1 < n
  %oc.p1 = add i64 %cs.pos, 1
  %oc.ptr = getelementptr i8, ptr %p, i64 %oc.p1
  %oc.c = load i8, ptr %oc.ptr
  %oc.want = call i8 @separator(ptr %col, i64 %ncols, i8 %delim)
  %oc.ok = icmp eq i8 %oc.c, %oc.want
  br i1 %oc.ok, label %one_digit, label %oc.dot
oc.dot:
  %od.dot = icmp eq i8 %oc.c, 46
  br i1 %od.dot, label %digit_dot, label %cs.signs
one_digit:
  %od.v = uitofp i8 %od.d8 to double
  %od.ptr = getelementptr double, ptr %out, i64 %cs.cell
  store double %od.v, ptr %od.ptr
  call void @next_column(ptr %col, i64 %ncols)
  %od.pos2 = add i64 %cs.pos, 2
  store i64 %od.pos2, ptr %pos
  br label %next_cell

cs.signs:
  %cs.minus = icmp eq i8 %cs.c, 45
  %cs.plus = icmp eq i8 %cs.c, 43
  %cs.sign = or i1 %cs.minus, %cs.plus
  %cs.neg = zext i1 %cs.minus to i64
  store i64 %cs.neg, ptr %neg
  %cs.skip = zext i1 %cs.sign to i64
  %cs.pos1 = add i64 %cs.pos, %cs.skip
  store i64 %cs.pos1, ptr %pos
  store i64 %cs.pos1, ptr %first
  br label %int_loop

; the integer digits, 8 at a time
int_loop:
  %il.k = call i64 @digits(ptr %p, i64 %n, ptr %pos, ptr %man, ptr %nd)
  %il.more = icmp eq i64 %il.k, 8
  br i1 %il.more, label %int_loop, label %int_end
int_end:
  %ie.pos = load i64, ptr %pos
  %ie.ptr = getelementptr i8, ptr %p, i64 %ie.pos
  %ie.c = load i8, ptr %ie.ptr
  %ie.dot = icmp eq i8 %ie.c, 46
  br i1 %ie.dot, label %ie.skip, label %mantissa_end
ie.skip:
  %ie.next = add i64 %ie.pos, 1
  store i64 %ie.next, ptr %pos
  br label %frac_loop

; the digits after the dot, 8 at a time: also q = q − k
frac_loop:
  %fl.k = call i64 @digits(ptr %p, i64 %n, ptr %pos, ptr %man, ptr %nd)
  %fl.q = load i64, ptr %q
  %fl.q1 = sub i64 %fl.q, %fl.k
  store i64 %fl.q1, ptr %q
  %fl.more = icmp eq i64 %fl.k, 8
  br i1 %fl.more, label %frac_loop, label %mantissa_end

; at least one digit; more than 19 digits are more than M can hold unless the extra ones are
; leading zeros (0.000…): those cells are counted again and, if still over 19, left to float()
mantissa_end:
  %me.nd = load i64, ptr %nd
  %me.none = icmp eq i64 %me.nd, 0
  br i1 %me.none, label %fail, label %me.some
me.some:
  %me.over = icmp ugt i64 %me.nd, 19
  br i1 %me.over, label %leading, label %exp_check
leading:
  %ld.first = load i64, ptr %first
  br label %ld.loop
ld.loop:
  %ld.i = phi i64 [ %ld.first, %leading ], [ %ld.i1, %ld.step ]
  %ld.z = phi i64 [ 0, %leading ], [ %ld.z1, %ld.step ]
  %ld.ptr = getelementptr i8, ptr %p, i64 %ld.i
  %ld.c = load i8, ptr %ld.ptr
  %ld.zero = icmp eq i8 %ld.c, 48
  %ld.dot = icmp eq i8 %ld.c, 46
  %ld.skip = or i1 %ld.zero, %ld.dot
  br i1 %ld.skip, label %ld.step, label %ld.end
ld.step:
  %ld.i1 = add i64 %ld.i, 1
  %ld.zz = zext i1 %ld.zero to i64
  %ld.z1 = add i64 %ld.z, %ld.zz
  br label %ld.loop
ld.end:
  %ld.sig = sub i64 %me.nd, %ld.z
  %ld.over = icmp ugt i64 %ld.sig, 19
  br i1 %ld.over, label %long_cell, label %exp_check
long_cell:
  store i64 -1, ptr %nd                              ; marks the cell for float()
  br label %exp_check

; the exponent: one run of at most 7 digits (8 or more: the cell is left to float())
exp_check:
  %ec.pos = load i64, ptr %pos
  %ec.ptr = getelementptr i8, ptr %p, i64 %ec.pos
  %ec.c = load i8, ptr %ec.ptr
  %ec.low = or i8 %ec.c, 32
  %ec.ise = icmp eq i8 %ec.low, 101
  br i1 %ec.ise, label %exp_sign, label %term
exp_sign:
  %es.pos = add i64 %ec.pos, 1
  %es.ptr = getelementptr i8, ptr %p, i64 %es.pos
  %es.c = load i8, ptr %es.ptr
  %es.minus = icmp eq i8 %es.c, 45
  %es.plus = icmp eq i8 %es.c, 43
  %es.sign = or i1 %es.minus, %es.plus
  %es.skip = zext i1 %es.sign to i64
  %es.first = add i64 %es.pos, %es.skip
  %es.r = call { i64, i64 } @run8(ptr %p, i64 %es.first, i64 %n)
  %es.v = extractvalue { i64, i64 } %es.r, 0
  %es.k = extractvalue { i64, i64 } %es.r, 1
  %es.none = icmp eq i64 %es.k, 0
  br i1 %es.none, label %fail, label %es.some
es.some:
  %es.pos1 = add i64 %es.first, %es.k
  store i64 %es.pos1, ptr %pos
  %es.long = icmp eq i64 %es.k, 8
  br i1 %es.long, label %es.huge, label %es.add
es.huge:                                             ; term skips the rest of its digits
  store i64 -1, ptr %nd
  br label %term
es.add:
  %es.mv = sub i64 0, %es.v
  %es.sv = select i1 %es.minus, i64 %es.mv, i64 %es.v
  %es.q = load i64, ptr %q
  %es.q1 = add i64 %es.q, %es.sv
  store i64 %es.q1, ptr %q
  br label %term

; the byte after the cell: the delimiter, or the newline after the last column
term:
  %t.pos = load i64, ptr %pos
  %t.ptr = getelementptr i8, ptr %p, i64 %t.pos
  %t.c = load i8, ptr %t.ptr
  %t.want = call i8 @separator(ptr %col, i64 %ncols, i8 %delim)
  %t.ok = icmp eq i8 %t.c, %t.want
  br i1 %t.ok, label %t.next, label %t.more
t.more:                                              ; more exponent digits of a huge exponent
  %tm.nd = load i64, ptr %nd
  %tm.hard = icmp eq i64 %tm.nd, -1
  %tm.d = sub i8 %t.c, 48
  %tm.isd = icmp ult i8 %tm.d, 10
  %tm.skip = and i1 %tm.hard, %tm.isd
  br i1 %tm.skip, label %tm.step, label %t.cr
tm.step:
  %tm.pos1 = add i64 %t.pos, 1
  store i64 %tm.pos1, ptr %pos
  br label %term
t.cr:                                                ; "\r\n" ends a line too (Windows): read on from the \n
  %tc.cr = icmp eq i8 %t.c, 13
  %tc.last = icmp eq i8 %t.want, 10
  %tc.at = and i1 %tc.cr, %tc.last
  br i1 %tc.at, label %tc.look, label %fail
tc.look:                                             ; p[pos] is not the chunk's last byte ('\n')
  %tc.pos1 = add i64 %t.pos, 1
  %tc.ptr = getelementptr i8, ptr %p, i64 %tc.pos1
  %tc.c = load i8, ptr %tc.ptr
  %tc.nl = icmp eq i8 %tc.c, 10
  br i1 %tc.nl, label %tm.step, label %fail
t.next:
  call void @next_column(ptr %col, i64 %ncols)
  %t.pos1 = add i64 %t.pos, 1
  store i64 %t.pos1, ptr %pos
  %t.nd = load i64, ptr %nd
  %t.long = icmp eq i64 %t.nd, -1
  br i1 %t.long, label %hard_cell, label %value

; --- the value M·10^q, correctly rounded ---------------------------------------------------------
value:
  %v.man = load i64, ptr %man
  %v.zero = icmp eq i64 %v.man, 0
  br i1 %v.zero, label %v.zerocell, label %clinger
v.zerocell:
  br label %signed

; Clinger: M ≤ 2^53 and |q| ≤ 22, so M and 10^|q| are exact doubles and one operation rounds once
clinger:
  %cl.man = phi i64 [ %v.man, %value ], [ %sl.m, %sl.end ]
  %cl.q = phi i64 [ 0, %value ], [ %sl.qz, %sl.end ]
  %cl.stripped = phi i1 [ false, %value ], [ true, %sl.end ]
  %cl.q0 = load i64, ptr %q
  %cl.qq = add i64 %cl.q0, %cl.q
  %cl.small = icmp ule i64 %cl.man, 9007199254740992
  %cl.q22 = add i64 %cl.qq, 22
  %cl.inq = icmp ule i64 %cl.q22, 44
  %cl.ok = and i1 %cl.small, %cl.inq
  br i1 %cl.ok, label %cl.go, label %cl.no
cl.go:
  %cg.v = uitofp i64 %cl.man to double
  %cg.pos = icmp sge i64 %cl.qq, 0
  br i1 %cg.pos, label %cg.up, label %cg.down
cg.up:
  %cu.p = getelementptr [23 x double], ptr @p10, i64 0, i64 %cl.qq
  %cu.t = load double, ptr %cu.p
  %cu.v = fmul double %cg.v, %cu.t
  br label %cg.store
cg.down:
  %cd.q = sub i64 0, %cl.qq
  %cd.p = getelementptr [23 x double], ptr @p10, i64 0, i64 %cd.q
  %cd.t = load double, ptr %cd.p
  %cd.v = fdiv double %cg.v, %cd.t
  br label %cg.store
cg.store:
  %cg.v2 = phi double [ %cu.v, %cg.up ], [ %cd.v, %cg.down ]
  %cg.bits = bitcast double %cg.v2 to i64
  br label %signed
cl.no:
  br i1 %cl.stripped, label %eisel, label %strip_loop

; M's trailing zeros moved to q (6.000000000000000000e+00 is 6·10^0), once, then Clinger again
strip_loop:
  %sl.m = phi i64 [ %cl.man, %cl.no ], [ %sl.div, %sl.take ]
  %sl.qz = phi i64 [ 0, %cl.no ], [ %sl.q1, %sl.take ]
  %sl.div = udiv i64 %sl.m, 10
  %sl.back = mul i64 %sl.div, 10
  %sl.zero = icmp eq i64 %sl.back, %sl.m
  br i1 %sl.zero, label %sl.take, label %sl.end
sl.take:
  %sl.q1 = add i64 %sl.qz, 1
  br label %strip_loop
sl.end:
  br label %clinger

; Eisel–Lemire (Go's strconv.eiselLemire64): 54 bits of M·T, T = 10^q's 128-bit table value
eisel:
  %ei.man = phi i64 [ %cl.man, %cl.no ]
  %ei.q = phi i64 [ %cl.qq, %cl.no ]
  %ei.i = add i64 %ei.q, 348
  %ei.in = icmp ule i64 %ei.i, 695
  br i1 %ei.in, label %ei.go, label %hard_cell
ei.go:
  %ei.clz = call i64 @llvm.ctlz.i64(i64 %ei.man, i1 true)
  %ei.m = shl i64 %ei.man, %ei.clz
  %ei.hp = getelementptr i64, ptr %tenhi, i64 %ei.i
  %ei.hi = load i64, ptr %ei.hp
  %ei.m128 = zext i64 %ei.m to i128
  %ei.hi128 = zext i64 %ei.hi to i128
  %ei.prod = mul i128 %ei.m128, %ei.hi128
  %ei.xlo = trunc i128 %ei.prod to i64
  %ei.ph = lshr i128 %ei.prod, 64
  %ei.xhi = trunc i128 %ei.ph to i64
  %ei.q217 = mul i64 %ei.q, 217706
  %ei.qs = ashr i64 %ei.q217, 16
  %ei.r0 = add i64 %ei.qs, 1087                      ; + 64 + 1023
  %ei.r1 = sub i64 %ei.r0, %ei.clz
  %ei.low9 = and i64 %ei.xhi, 511
  %ei.all9 = icmp eq i64 %ei.low9, 511
  %ei.sum = add i64 %ei.xlo, %ei.m
  %ei.carry = icmp ult i64 %ei.sum, %ei.m
  %ei.wider = and i1 %ei.all9, %ei.carry
  br i1 %ei.wider, label %wide, label %shift54
wide:                                                ; T's low word may reach the 54 bits
  %wd.lp = getelementptr i64, ptr %tenlo, i64 %ei.i
  %wd.lo = load i64, ptr %wd.lp
  %wd.lo128 = zext i64 %wd.lo to i128
  %wd.prod = mul i128 %ei.m128, %wd.lo128
  %wd.ylo = trunc i128 %wd.prod to i64
  %wd.ph = lshr i128 %wd.prod, 64
  %wd.yhi = trunc i128 %wd.ph to i64
  %wd.mlo = add i64 %ei.xlo, %wd.yhi
  %wd.c = icmp ult i64 %wd.mlo, %ei.xlo
  %wd.c64 = zext i1 %wd.c to i64
  %wd.mhi = add i64 %ei.xhi, %wd.c64
  %wd.l9 = and i64 %wd.mhi, 511
  %wd.a9 = icmp eq i64 %wd.l9, 511
  %wd.ones = icmp eq i64 %wd.mlo, -1
  %wd.ys = add i64 %wd.ylo, %ei.m
  %wd.yc = icmp ult i64 %wd.ys, %ei.m
  %wd.b1 = and i1 %wd.a9, %wd.ones
  %wd.bad = and i1 %wd.b1, %wd.yc
  br i1 %wd.bad, label %hard_cell, label %shift54
shift54:
  %s.hi = phi i64 [ %ei.xhi, %ei.go ], [ %wd.mhi, %wide ]
  %s.lo = phi i64 [ %ei.xlo, %ei.go ], [ %wd.mlo, %wide ]
  %s.msb = lshr i64 %s.hi, 63
  %s.sh = add i64 %s.msb, 9
  %s.rm = lshr i64 %s.hi, %s.sh
  %s.x = xor i64 %s.msb, 1
  %s.r2 = sub i64 %ei.r1, %s.x
  %s.lz = icmp eq i64 %s.lo, 0
  %s.h9 = and i64 %s.hi, 511
  %s.h0 = icmp eq i64 %s.h9, 0
  %s.r3 = and i64 %s.rm, 3
  %s.r1 = icmp eq i64 %s.r3, 1
  %s.a = and i1 %s.lz, %s.h0
  %s.half = and i1 %s.a, %s.r1
  br i1 %s.half, label %hard_cell, label %round      ; exactly halfway: float() decides
round:
  %rd.b = and i64 %s.rm, 1
  %rd.m1 = add i64 %s.rm, %rd.b
  %rd.m2 = lshr i64 %rd.m1, 1
  %rd.top = lshr i64 %rd.m2, 53
  %rd.m3 = lshr i64 %rd.m2, %rd.top
  %rd.r = add i64 %s.r2, %rd.top
  %rd.rm1 = sub i64 %rd.r, 1
  %rd.out = icmp uge i64 %rd.rm1, 2046               ; subnormal or infinite: float() decides
  br i1 %rd.out, label %hard_cell, label %assemble
assemble:
  %as.e = shl i64 %rd.r, 52
  %as.f = and i64 %rd.m3, 4503599627370495
  %as.b0 = or i64 %as.e, %as.f
  br label %signed

; the value's bits with the cell's sign, into out[cell]
signed:
  %sg.bits = phi i64 [ 0, %v.zerocell ], [ %cg.bits, %cg.store ], [ %as.b0, %assemble ]
  %sg.neg = load i64, ptr %neg
  %sg.sign = shl i64 %sg.neg, 63
  %sg.b = or i64 %sg.bits, %sg.sign
  %sg.cell = load i64, ptr %cell
  %sg.ptr = getelementptr i64, ptr %out, i64 %sg.cell
  store i64 %sg.b, ptr %sg.ptr
  br label %next_cell

; --- a cell for float(): (cell, first byte, the byte after it) ------------------------------------
hard_cell:
  %h.n = load i64, ptr %nh
  %h.full = icmp sge i64 %h.n, %maxhard
  br i1 %h.full, label %overflow, label %h.rec
h.rec:
  %h.cell = load i64, ptr %cell
  %h.i0 = mul i64 %h.n, 3
  %h.p0 = getelementptr i64, ptr %hard, i64 %h.i0
  store i64 %h.cell, ptr %h.p0
  %h.i1 = add i64 %h.i0, 1
  %h.p1 = getelementptr i64, ptr %hard, i64 %h.i1
  %h.st = load i64, ptr %start
  store i64 %h.st, ptr %h.p1
  %h.i2 = add i64 %h.i0, 2
  %h.p2 = getelementptr i64, ptr %hard, i64 %h.i2
  %h.end = load i64, ptr %pos
  %h.sep = sub i64 %h.end, 1
  %h.bp = getelementptr i8, ptr %p, i64 %h.end
  %h.before = getelementptr i8, ptr %h.bp, i64 -2
  %h.b = load i8, ptr %h.before
  %h.crlf = icmp eq i8 %h.b, 13                      ; the cell ends before a "\r\n"
  %h.back = zext i1 %h.crlf to i64
  %h.stop = sub i64 %h.sep, %h.back
  store i64 %h.stop, ptr %h.p2
  %h.n1 = add i64 %h.n, 1
  store i64 %h.n1, ptr %nh
  %h.optr = getelementptr i64, ptr %out, i64 %h.cell
  store i64 0, ptr %h.optr
  br label %next_cell

next_cell:
  %nc.cell = load i64, ptr %cell
  %nc.c1 = add i64 %nc.cell, 1
  store i64 %nc.c1, ptr %cell
  br label %cell_start

done:
  %d.col = load i64, ptr %col
  %d.ok = icmp eq i64 %d.col, 0
  %d.nh = load i64, ptr %nh
  store i64 %d.nh, ptr %nhard
  %d.cell = load i64, ptr %cell
  %d.ret = select i1 %d.ok, i64 %d.cell, i64 -1
  ret i64 %d.ret
fail:
  ret i64 -1
overflow:
  ret i64 -2
}
""".replace("P10", _POWERS)


MIN_LLVMLITE = (0, 45)  # the fast extra's pin: the llvmlite this parser is compiled and tested with


def available() -> bool:
    """True when llvmlite ≥ 0.45 can be imported, on a little-endian machine (the parser reads
    eight bytes as one little-endian word). Only llvmlite's top package is imported for its
    version (~0.5 ms; ``importlib.metadata`` took 23 ms of every streamed run's start): LLVM itself
    loads with ``llvmlite.binding``, in the process that parses. An older llvmlite (numba 0.60
    pins 0.43: no new pass manager) would not start, and leave every chunk to numpy: the next
    reader (pyarrow) reads instead."""
    import importlib.util
    import sys

    if sys.byteorder != "little" or importlib.util.find_spec("llvmlite") is None:
        return False
    try:
        import llvmlite
    except Exception:  # noqa: BLE001 - an install that does not import: as if there were none
        return False

    version = getattr(llvmlite, "__version__", "")
    if not version:
        return True  # no version: try it (a parser that cannot start leaves the chunks to numpy)
    parts = [int("".join(c for c in part if c.isdigit()) or 0) for part in version.split(".")[:2]]
    return tuple(parts) >= MIN_LLVMLITE


_COMPILING = threading.Lock()  # the stream's threads start their first chunks together
MADE: str | None = None  # how this process got the parser, for --verbose (None: not yet)


def _compiled() -> tuple[Any, Any]:
    """The parser as a ctypes function (compiled at the first call in this process), and the
    engine that owns its code (kept alive with it)."""
    with _COMPILING:
        return _compile()


@lru_cache(maxsize=1)
def _compile() -> tuple[Any, Any]:
    global MADE
    if objload.supported() and (shipped := _shipped_object(SHIPPED_TRIPLE)) is not None:
        try:
            function = _mapped(shipped)
            MADE = "its shipped object code, mapped without LLVM"
            return function, None
        except (OSError, ValueError):  # memory the kernel will not make executable, or an object
            pass  # objload cannot map (tests/test_objload.py fails then): LLVM decides, as elsewhere
    from xentropy_cli import engines

    engines.compiler_loaded()
    import llvmlite.binding as llvm

    shipped = _shipped_object(llvm.get_process_triple())
    try:
        function, engine = _engine(shipped)
        MADE = "compiled from its IR" if shipped is None else "its shipped object code loaded by LLVM"
    except Exception:  # noqa: BLE001 - an LLVM that does not take the shipped object: compile, as elsewhere
        if shipped is None:
            raise
        function, engine = _engine(None)
        MADE = "compiled from its IR (the shipped object code did not load)"
    _release_llvm_code()
    return function, engine


def _mapped(shipped: bytes) -> Any:
    """The parser as a ctypes function, from its ``shipped`` object code mapped here without LLVM
    (``objload``: under 1 ms, where importing llvmlite's binding takes 20–45 ms)."""
    return _signature()(objload.load(shipped, "xent_parse", {"memcpy": objload.memcpy_address()}))


def _signature() -> Any:
    """The parser's C signature for ctypes (the IR's first line names the arguments)."""
    import ctypes

    i64, pointer = ctypes.c_int64, ctypes.c_void_p
    return ctypes.CFUNCTYPE(i64, ctypes.c_char_p, i64, i64, ctypes.c_char, pointer, i64, pointer,
                            pointer, pointer, i64, pointer)


def _engine(shipped: bytes | None) -> tuple[Any, Any]:
    """The parser as a ctypes function and the engine that owns its code: ``shipped`` object
    code loaded, or (None) the IR compiled."""
    llvm, machine = _target()
    if shipped is None:
        engine = llvm.create_mcjit_compiler(_optimized(llvm, machine), machine)
    else:
        engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), machine)
        engine.add_object_file(llvm.ObjectFileRef.from_data(shipped))
    engine.finalize_object()
    address = engine.get_function_address("xent_parse")
    if not address:
        raise RuntimeError("the parser's code has no xent_parse")
    return _signature()(address), engine


def _target() -> tuple[Any, Any]:
    """llvmlite's binding, ready, and the target machine: the process's triple, its generic CPU
    (no host features, so object code made here runs on every CPU of the triple)."""
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm, llvm.Target.from_triple(llvm.get_process_triple()).create_target_machine(opt=2)


def _optimized(llvm: Any, machine: Any) -> Any:
    """The parser's IR as a verified module for ``machine``, after the passes that matter here
    (inlining run8, variables into registers, folding), not -O2's full pipeline: half the
    compile time for ~5 % less speed on a 1M-row file."""
    module = llvm.parse_assembly(_IR)
    module.triple, module.data_layout = machine.triple, str(machine.target_data)
    module.verify()
    builder = llvm.create_pass_builder(machine, llvm.create_pipeline_tuning_options(speed_level=1))
    inline = llvm.create_new_module_pass_manager()
    inline.add_always_inliner_pass()
    inline.run(module, builder)
    simplify = llvm.create_new_function_pass_manager()
    simplify.add_sroa_pass()
    simplify.add_instruction_combine_pass()
    simplify.add_simplify_cfg_pass()
    simplify.run(module.get_function("xent_parse"), builder)
    return module


def object_code() -> bytes:
    """The parser as an object file for this process's triple, as ``_engine`` would compile it,
    behind the CRC-32 of its bytes (``tools/gen_jit_object.py`` writes it into the package)."""
    llvm, machine = _target()
    code = bytes(machine.emit_object(_optimized(llvm, machine)))
    return _checksum(code) + code


def shipped_object_path(triple: str) -> Path:
    """Where the package keeps the parser's object code for ``triple``: named by the IR's
    digest, so an IR that changed finds none and is compiled."""
    digest = _checksum(_IR.encode()).hex()
    return Path(__file__).with_name("jit") / f"xent_parse-{triple}-{digest}.o"


def _shipped_object(triple: str) -> bytes | None:
    """The object code shipped for this triple and this IR, if any and whole (LLVM crashes on a
    damaged object, so its CRC-32 is checked first): loading it takes ~2 ms where generating the
    code takes ~30 ms, on the run's critical path (bench/README.md). Only x86-64 Linux ships one,
    the one platform tested here; the others compile. ``XENT_JIT_OBJECT=0`` compiles anyway."""
    if os.environ.get("XENT_JIT_OBJECT", "1") == "0":
        return None
    try:
        stored = shipped_object_path(triple).read_bytes()
    except OSError:
        return None
    digest, code = stored[:4], stored[4:]
    return code if code and _checksum(code) == digest else None


def _checksum(data: bytes) -> bytes:
    """CRC-32 (zlib is loaded by then; hashlib would load OpenSSL: 2.5 ms of every run): it
    catches a truncated or damaged file and an edited IR, which is all it is for."""
    import zlib

    return zlib.crc32(data).to_bytes(4, "little")


def _release_llvm_code() -> None:
    """Give back the pages of LLVM's own machine code that compiling touched (Linux): 50–76 MB of
    the process's resident memory, more right after llvmlite was installed (its file then sits in
    large page-cache folios, mapped whole). The parser's code lives elsewhere (the engine's
    memory); these pages are clean copies of the library file, so ``MADV_DONTNEED`` only unmaps
    them and LLVM reads them back if it runs again (as it does at exit). Only ``r-xp`` mappings:
    never written, unlike the relocated data."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        from llvmlite.utils import get_library_name

        name, libc = get_library_name(), ctypes.CDLL(None, use_errno=True)
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split()
                if len(fields) >= 6 and fields[1] == "r-xp" and fields[5].endswith("/" + name):
                    start, stop = (int(x, 16) for x in fields[0].split("-"))
                    libc.madvise(ctypes.c_void_p(start), ctypes.c_size_t(stop - start), 4)  # MADV_DONTNEED
    except (OSError, ImportError, ValueError, AttributeError):
        pass


class Jit:
    """The compiled parser for chunks of whole lines of one layout.

    ``parse(data)`` gives the same (rows, len(used)) float64 block as ``fastcsv.parse``, or raises
    ValueError for anything outside its grammar or a value that is not finite: the caller then
    reads the chunk with ``fastcsv.parse``, which decides."""

    def __init__(self, lay: fastcsv.Layout, threads: bool = False):
        self.function = _compiled()[0]
        self.used = list(lay.used)
        self.n_columns = lay.n_columns
        self.delimiter = lay.delimiter.encode()
        if len(self.delimiter) != 1:
            raise ValueError("a delimiter of more than one byte")
        self.hard = np.empty(3 * HARD_CELLS, np.int64)
        self.hard_count = np.zeros(1, np.int64)

    def parse(self, data: bytes) -> np.ndarray:
        if not data.endswith(b"\n"):
            raise ValueError("a chunk must end with a newline")
        values = np.empty(len(data) // 2 + 1)  # a cell takes two bytes or more; untouched pages cost nothing
        cells = self._call(data, values, self.hard)
        if cells == -2:  # more cells for float() than the list holds: again, with room for all
            self.hard = np.empty(3 * values.size, np.int64)
            cells = self._call(data, values, self.hard)
        if cells < 0:
            raise ValueError("outside the compiled parser's grammar")
        for cell, start, stop in self.hard[: 3 * int(self.hard_count[0])].reshape(-1, 3).tolist():
            value = float(data[start:stop])
            if not math.isfinite(value):  # the only cells that can overflow: the others are normal
                raise ValueError("a value is not finite")
            values[cell] = value
        block = values[:cells].reshape(-1, self.n_columns)
        return block if self.used == list(range(self.n_columns)) else block[:, self.used]

    def _call(self, data: bytes, values: np.ndarray, hard: np.ndarray) -> int:
        return self.function(data, len(data), self.n_columns, self.delimiter, values.ctypes.data,
                             values.size, decimals._TEN_HI.ctypes.data, decimals._TEN_LO.ctypes.data,
                             hard.ctypes.data, hard.size // 3, self.hard_count.ctypes.data)
