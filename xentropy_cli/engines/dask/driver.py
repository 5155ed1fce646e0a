"""The cluster and the driver: shards submitted, the loss kind settled across shards, columns
checked, results handed to a sink in shard order, partials combined."""

from __future__ import annotations

import logging
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from xentropy_cli.core import partial, profiles
from xentropy_cli.core.types import Array, Kind, LossKind, Result
from xentropy_cli.engines.dask.shards import Job, Shard, shard_labels
from xentropy_cli.engines.dask.worker import (
    PACKET,
    WHOLE,
    Meta,
    Top,
    _meta,
    _per_sample,
    _top_of,
    run_shard,
)
from xentropy_cli.errors import DataError, UsageError, XentError

CONNECT_TIMEOUT = "15s"


# Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off glibc's adaptive mmap
# threshold: every array over 128 kB is then mapped and unmapped afresh, and the pipeline (many
# short-lived arrays per block) runs 2-4x slower. Local workers get glibc's default behaviour.
LOCAL_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


# --- the cluster -------------------------------------------------------------------------------

SCHEMES = ("tcp", "tls", "ws", "wss", "inproc", "ucx")
WORKERS_PER_CORE = 4  # --workers above this many per core is refused (memory grows per worker)


def max_workers() -> int:
    from xentropy_cli.engines.pool import cores

    return WORKERS_PER_CORE * cores()


def check_address(scheduler: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a scheduler address such as tcp://host:8786 or host:8786; a
    UsageError at once for anything else (Dask would try for CONNECT_TIMEOUT first)."""
    from urllib.parse import urlsplit

    text = scheduler if "://" in scheduler else f"tcp://{scheduler}"
    try:
        parts = urlsplit(text)
        port = parts.port
        ok = parts.scheme in SCHEMES and bool(parts.hostname) and not any(c.isspace() for c in text) \
            and parts.path in ("", "/")
    except ValueError:
        ok, port = False, None
    if not ok:
        raise UsageError(f"--scheduler {scheduler!r} is not a Dask scheduler address",
                         hint="e.g. tcp://host:8786 or host:8786")
    return parts.scheme, parts.hostname or "", port


def _reachable(scheduler: str) -> None:
    """Refuse at once a TCP scheduler that nothing listens at (instead of Dask's retries)."""
    import socket

    scheme, host, port = check_address(scheduler)
    if scheme != "tcp":
        return
    try:
        socket.create_connection((host, port or 8786), timeout=5).close()
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler} ({exc.strerror or exc})",
                         hint="start one with `dask scheduler`, or drop --scheduler to use "
                              "local processes") from None


def _connect(scheduler: str) -> Any:
    """A Client of ``scheduler``; on failure the half-made Client is closed here, at once, so
    that its ``__del__`` neither waits 30 s nor prints a traceback."""
    from distributed import Client

    _reachable(scheduler)
    client = Client.__new__(Client)
    try:
        client.__init__(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)  # type: ignore[misc]
    except (OSError, TimeoutError, ValueError) as exc:
        try:
            client.close(timeout=2)
        except Exception:  # noqa: BLE001 - it never connected; nothing to keep
            pass
        client.status = "closed"
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler} ({exc})",
                         hint="start one with `dask scheduler`, or drop --scheduler to use "
                              "local processes") from None
    return client


@contextmanager
def cluster(scheduler: str | None, workers: int | None) -> Iterator:
    """A ``distributed.Client``: on ``scheduler``, else on a LocalCluster of ``workers`` processes
    (default: the machine's cores) bound to 127.0.0.1, without a dashboard, whose scratch space
    is a temporary folder removed afterwards."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("--engine dask needs Dask", hint="pip install 'xentropy-cli[dask]'") from None
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    if scheduler:
        client = _connect(scheduler)
        try:
            _check_workers(client)
            yield client
        finally:
            client.close()
        return
    import shutil
    import tempfile

    from xentropy_cli.engines.pool import cores

    n = workers or cores()
    scratch = tempfile.mkdtemp(prefix="xent-dask-")
    try:
        config = {**LOCAL_CONFIG, "temporary-directory": scratch}
        with warnings.catch_warnings(), dask.config.set(config):
            # "port 8787 in use": the health server moves to a free port, which is fine
            warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
            local = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                 dashboard_address=None, host="127.0.0.1",
                                 silence_logs=logging.CRITICAL, local_directory=scratch)
            with local, Client(local, set_as_default=False) as client:
                yield client
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _version() -> str:
    from xentropy_cli import __version__

    return __version__


def _check_workers(client) -> None:
    from xentropy_cli import __version__

    try:
        versions = client.run(_version)
    except Exception as exc:  # a worker without xent cannot unpickle the task
        raise UsageError(f"the Dask workers cannot run xent ({type(exc).__name__}: {exc})",
                         hint="pip install 'xentropy-cli[dask]' on every worker") from None
    if not versions:
        raise UsageError("the Dask scheduler has no workers", hint="start some with `dask worker`")
    wrong = {w: v for w, v in versions.items() if v != __version__}
    if wrong:
        worker, version = next(iter(wrong.items()))
        raise UsageError(f"worker {worker} runs xent {version}, this is xent {__version__}",
                         hint="install the same version on every worker")


# --- the driver --------------------------------------------------------------------------------

@dataclass
class Progress:
    """`shards done, rows, rows/s` on one stderr line, only when stderr is a terminal."""

    total: int
    enabled: bool
    stream: Any = None
    start: float = field(default_factory=time.monotonic)

    @classmethod
    def for_stderr(cls, total: int, quiet: bool) -> Progress:
        enabled = not quiet and sys.stderr is not None and sys.stderr.isatty()
        return cls(total, enabled, sys.stderr)

    def update(self, done: int, rows: int) -> None:
        if not self.enabled:
            return
        rate = rows / max(time.monotonic() - self.start, 1e-9)
        self.stream.write(f"\rxent: dask: {done}/{self.total} shards, {rows:,} rows, "
                          f"{rate:,.0f} rows/s\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


# (shard, its Partial at a provisional first row, its per-sample w·l, its global first row)
Sink = Callable[[Shard, partial.Partial, Array, int], None]


class ShardFailed(DataError):
    """A shard could not be computed (exit 1); the run prints no value."""


@dataclass(frozen=True)
class Run:
    """What the driver ends with: the combined result and what it was made of."""

    result: Result  # combined; per_sample empty (the sink had them)
    combined: partial.Combined
    combined_q: partial.Combined | None
    shards: list[Shard]
    n_files: int
    kind: Kind
    labels: Array | None
    tops: list[Top]


class _Driver:
    """Submits the shards, settles the loss kind, checks columns, hands results out in order."""

    def __init__(self, client, shards: list[Shard], job: Job, sink: Sink | None, progress: Progress):
        from distributed import as_completed

        self.client, self.shards, self.job, self.sink, self.progress = client, shards, job, sink, progress
        self.futures: dict[int, Any] = {}
        self.owner: dict[str, tuple[int, str]] = {}
        self.pending = as_completed(loop=client.loop)
        self.metas: dict[int, Meta] = {}
        self.binary = False  # a shard whose rows do not all sum to 1: binary everywhere
        self.settled = job.kind != "auto"
        self.written = 0  # shards handed to the sink
        self.offset = 0  # their rows
        self.kinds: dict[int, LossKind | None] = {}  # the --loss a shard was (last) sent with
        self.known = _known_offsets(shards)
        self.total = self.known.pop(-1, None)  # all rows, when every shard's count is known

    def submit(self, shard: Shard, kind: LossKind | None = None) -> None:
        """Send a shard to the cluster (as_completed hands its Meta to ``run``)."""
        meta, future = self._sent(shard, kind, self.known.get(shard.index, 0))
        self.owner[meta.key] = (shard.index, future.key)
        self.pending.add(meta)

    def rerun(self, shard: Shard, kind: LossKind | None) -> Meta:
        """Run a shard again where it sits among all rows (``self.offset``) and wait for it."""
        meta, _ = self._sent(shard, kind, self.offset)
        return self.result_of(meta)

    def _sent(self, shard: Shard, kind: LossKind | None, offset: int) -> tuple[Any, Any]:
        future = self.client.submit(run_shard, shard, self.job, kind, offset, self.total, pure=False)
        self.futures[shard.index] = future
        self.kinds[shard.index] = kind
        return self.client.submit(_meta, future, pure=False), future

    def run(self) -> dict[int, Meta]:
        for shard in self.shards:
            self.submit(shard)
        try:
            for done in self.pending:
                index, key = self.owner.pop(done.key)
                if self.futures[index].key != key:
                    continue  # an outcome that was superseded by a second run of its shard
                self.receive(self.result_of(done))
            self.settled = True
            self.flush()
        except XentError as error:
            for future in self.futures.values():
                future.cancel()
            raise type(error)(error.message + self.caveat(), where=error.where,
                              hint=error.hint) from None
        finally:
            self.progress.close()
        return self.metas

    def receive(self, meta: Meta) -> None:
        if meta.ambiguous and meta.kind == "binary" and not self.binary:
            self.binary = self.settled = True
            for index in [i for i, m in self.metas.items() if m.kind == "categorical"]:
                del self.metas[index]
                self.submit(self.shards[index], "binary")
        if meta.ambiguous and meta.kind == "categorical" and self.binary:
            self.submit(self.shards[meta.index], "binary")
            return
        self.settled = self.settled or not meta.ambiguous
        self.metas[meta.index] = meta
        _check_columns(meta, self.metas, self.shards)
        self.progress.update(len(self.metas), sum(m.n for m in self.metas.values()))
        self.flush()

    def flush(self) -> None:
        """Hand every finished shard that follows the last written one to the sink."""
        while self.settled and self.written < len(self.shards) and self.written in self.metas:
            meta = self.metas[self.written]
            shard = self.shards[self.written]
            small = meta.n * meta.cells < WHOLE
            if small and self.total is None:
                if len(self.metas) < len(self.shards):
                    return  # its rows' sums depend on how many rows there are in all: wait
                self.total = sum(m.n for m in self.metas.values())
            if _misplaced(shard, meta, self.offset, self.total):
                meta = self.metas[self.written] = self.rerun(shard, self.kinds.get(self.written))
            if self.sink is not None:
                future = self.futures[self.written]
                per_sample = self.client.submit(_per_sample, future, pure=False).result()
                self.sink(self.shards[self.written], meta.partial, per_sample, self.offset)
            self.offset += meta.n
            self.written += 1

    def result_of(self, done) -> Meta:
        """A finished future's Meta; a cluster failure becomes one clear error."""
        try:
            return done.result()
        except XentError:
            raise
        except Exception as error:
            name = type(error).__name__
            if name == "KilledWorker":
                raise ShardFailed(f"a Dask worker died each time it ran a shard ({error}); no value "
                                  "is printed, since it would not cover every shard",
                                  hint="the shard may need more memory than a worker has: use "
                                       "smaller shards or fewer workers") from None
            if name in ("CancelledError", "CommClosedError", "TimeoutError") or \
                    isinstance(error, OSError):
                raise ShardFailed(f"the Dask cluster failed ({name}: {error}); no value is printed, "
                                  "since it would not cover every shard",
                                  hint="check the scheduler and workers, then run again") from None
            raise

    def caveat(self) -> str:
        if not getattr(self.sink, "visible", False) or not self.written:
            return ""
        return (f" (the per-sample losses written before this error cover shards 1–{self.written} "
                f"of {len(self.shards)}, {self.offset} rows, only)")


def _known_offsets(shards: list[Shard]) -> dict[int, int]:
    """First global rows known before anything is read (Parquet row counts), by shard index;
    at -1 the rows of all shards, when every count is known."""
    known, offset = {}, 0
    for shard in shards:
        known[shard.index] = offset
        if shard.rows is None:
            return known
        offset += shard.rows
    known[-1] = offset
    return known


def _misplaced(shard: Shard, meta: Meta, offset: int, total: int | None) -> bool:
    """Was the shard computed for another place among all the rows than its own (see padding)?"""
    if (shard.last and ((offset - meta.offset) * meta.cells) % PACKET):
        return True
    if meta.n * meta.cells >= WHOLE:
        return False

    def big(rows: int | None) -> bool:
        return rows is not None and rows * meta.cells >= WHOLE

    return big(total) != big(meta.total)


def _check_columns(meta: Meta, metas: dict[int, Meta], shards: list[Shard]) -> None:
    """Every shard needs the columns (names and counts) and dtype of the first shard."""
    first = metas.get(shards[0].index)
    if first is None:
        return
    for odd in ([meta] if meta is not first else [metas[i] for i in sorted(metas)]):
        if _shape_of(odd) == _shape_of(first):
            continue
        if odd.columns == first.columns:
            message = (f"computes in {odd.partial.dtype} with {odd.partial.n_classes} classes but "
                       f"{shards[first.index].name} in {first.partial.dtype} with "
                       f"{first.partial.n_classes}")
        else:
            message = (f"has columns {_columns_text(odd.columns)} but {shards[first.index].name} has "
                       f"{_columns_text(first.columns)}")
        raise ShardFailed(message, where=shards[odd.index].name,
                          hint="every shard needs the same y_true, y_pred and weight columns and types")


def _shape_of(meta: Meta) -> tuple:
    return meta.columns, meta.partial.dtype, meta.partial.n_classes


def _columns_text(columns: tuple) -> str:
    true_names, pred_names, n_true, n_pred, weighted = columns
    true = ", ".join(true_names) if true_names else f"{n_true} column(s)"
    pred = ", ".join(pred_names) if pred_names else f"{n_pred} column(s)"
    return f"y_true [{true}], y_pred [{pred}]" + (" and a weight" if weighted else "")


def _global_labels(client, shards: list[Shard], job: Job) -> Array:
    """scikit-learn's classes over every shard (a first pass over y_true)."""
    futures = [client.submit(shard_labels, s, job, pure=False) for s in shards]
    return np.unique(np.concatenate([future.result() for future in futures]))


def execute(client, shards: list[Shard], job: Job, sink: Sink | None = None,
            progress: Progress | None = None) -> Run:
    """Run ``job`` on every shard and combine. ``sink`` gets each shard's result in shard order,
    as soon as every earlier shard is done and the loss kind is settled."""
    progress = progress or Progress(len(shards), False)
    progress.start = time.monotonic()  # rows/s of the work, not of starting the cluster
    chosen = [profiles.get(name) for name in (job.profile, job.against) if name is not None]
    if any(profile.sorted_labels for profile in chosen) and job.labels is None:
        job = replace(job, labels=_global_labels(client, shards, job))
    driver = _Driver(client, shards, job, sink, progress)
    metas = driver.run()
    return _combine(client, shards, job, metas, driver.futures)


def _combine(client, shards: list[Shard], job: Job, metas: dict[int, Meta], futures: dict) -> Run:
    offsets, offset = [], 0
    for shard in shards:
        offsets.append(offset)
        offset += metas[shard.index].n
    source = shards[0].path if len(shards) == 1 else f"{len(shards)} shards"
    profile = profiles.get(job.profile)
    total = _merged([partial.moved(metas[s.index].partial, offsets[s.index]) for s in shards])
    combined = partial.finish(total, profile, job.options.reduction or profile.reduction, source)
    combined_q, tops = None, []
    if job.against is not None:
        other = profiles.get(job.against)
        total_q = _merged([partial.moved(_second(metas[s.index]), offsets[s.index]) for s in shards])
        combined_q = partial.finish(total_q, other, job.options.reduction or other.reduction, source)
        tops = [_moved_top(client.submit(_top_of, futures[s.index], pure=False).result(),
                           offsets[s.index]) for s in shards]
    reasons = [metas[s.index].partial.kind_reason for s in shards]
    reason = next((r for r in reasons if r is not None and r.code != "given"), reasons[0])
    total = replace(total, kind_reason=reason)
    result = partial.result_of(total, combined, profile)
    files = len({s.path for s in shards})
    return Run(result, combined, combined_q, shards, files, total.kind, job.labels, tops)


def _second(meta: Meta) -> partial.Partial:
    """The shard's Partial under explain's second profile."""
    if meta.partial_q is None:
        raise ValueError("a shard was run without the second profile")
    return meta.partial_q


def _merged(parts: list[partial.Partial]) -> partial.Partial:
    try:
        return partial.merge_all(parts)
    except partial.Inconsistent as error:  # the checks above should have caught it
        raise ShardFailed(f"the shards cannot be combined: {error}",
                          hint="give every shard the same columns, or --loss and --labels") from None


def _moved_top(top: Top, shift: int) -> Top:
    return replace(top, rows=tuple(r + shift for r in top.rows))


# --- results as the renderers know them ---------------------------------------------------------

def shard_result(part: partial.Partial, job: Job, per_sample: Array | None) -> Result:
    """The shard's own result, as ``xent compute`` on that file alone gives it (rows from 1)."""
    profile = profiles.get(job.profile)
    own = partial.moved(part, 0)
    reduction = job.options.reduction or profile.reduction
    return partial.result_of(own, partial.finish(own, profile, reduction, ""), profile, per_sample)
