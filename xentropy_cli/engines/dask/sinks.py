"""Where ``xent compute --engine dask`` puts per-sample losses, shard by shard in order:
stdout or --output as they come, memory (for JSON, tables and --strict), or one file per shard."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xentropy_cli.core import partial
from xentropy_cli.core.types import Array
from xentropy_cli.engines.dask.driver import shard_result
from xentropy_cli.engines.dask.shards import Job, Shard
from xentropy_cli.errors import UsageError

READER = "dask"  # JSON "reader": how the input was read


class _StreamSink:
    """Per-sample losses to stdout (or to --output, renamed into place at the end) as they come,
    in the very text ``machine.plain`` / ``machine.per_sample_csv`` give for one file."""

    visible = True

    def __init__(self, out):
        from xentropy_cli import output

        self.out, self.csv, self.handle, self.writer = out, out.format == "csv", out.stdout, None
        if out.path is not None:
            self.visible = False
            self.writer = output.Writer(out.path)  # whole or not at all, links and devices kept
            self.handle = self.writer.handle
        if self.csv:
            self.handle.write("sample,loss\n")

    def __call__(self, shard: Shard, part: partial.Partial, per_sample: Array, first_row: int) -> None:
        from xentropy_cli.render.machine import text

        if self.csv:
            lines = [f"{i},{text(x)}\n" for i, x in enumerate(per_sample.tolist(), first_row + 1)]
        else:
            lines = [text(x) + "\n" for x in per_sample.tolist()]
        self.handle.write("".join(lines))
        self.handle.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.commit()

    def abandon(self) -> None:
        if self.writer is not None:
            self.writer.abort()


class _CollectSink:
    """Keeps the per-sample losses (for --format json/table and --strict, which need them all)."""

    def __init__(self) -> None:
        self.parts: list[Array] = []

    def __call__(self, shard: Shard, part: partial.Partial, per_sample: Array, first_row: int) -> None:
        self.parts.append(per_sample)

    def array(self, dtype: str) -> Array:
        return np.concatenate(self.parts) if self.parts else np.zeros(0, np.dtype(dtype))


class _FolderSink:
    """One file per shard in --output DIR/: what ``xent compute SHARD`` writes for that shard."""

    def __init__(self, folder: Path, fmt: str, job: Job, shards: list[Shard]):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError(f"cannot make the folder {folder}: {error.strerror}") from None
        self.folder, self.format, self.job = folder, fmt, job
        suffix = {"csv": ".csv", "json": ".json"}.get(fmt, ".txt")
        stems = [Path(s.path).stem + ("" if s.part is None else f".part{s.part}") for s in shards]
        unique = len(set(stems)) == len(stems)
        self.names = [(stem if unique else f"{s.index:05d}-{stem}") + suffix
                      for s, stem in zip(shards, stems, strict=True)]

    def __call__(self, shard: Shard, part: partial.Partial, per_sample: Array, first_row: int) -> None:
        from xentropy_cli import render

        own = shard_result(part, self.job, per_sample)
        target = render.Output(self.format, "never", self.folder / self.names[shard.index], True, False)
        target.emit_compute(own, reader=READER)
