"""Per-policy processing (normalize, diff, classify, store) in worker processes on large runs.

In one process the fetch threads and the processing share one GIL. Each file write, fsync or parse of the
processing thread releases the GIL; a fetch thread takes it, and getting it back waits up to the switch
interval (5 ms). A cold check makes a dozen such calls per policy, so on 1,000 policies it spent more
time waiting for the GIL than working (profiles in BENCHMARKS.md). Worker processes have their own GIL and
use the other cores; the fetch threads keep the parent's GIL to themselves.

Workers are forked on Linux, at the start of the run, before any fetch thread exists: a fork
copies the loaded code and rulebook for free, where a spawned worker imports policywatch and unpickles the
rulebook (about 0.45 s of CPU each, 1.8 s for the four of a large run on 2 CPUs). Forking a process that
runs threads is unsafe, hence the moment. Elsewhere workers are spawned when the first call needs them.

Small runs stay in-process: starting workers costs a few tenths of a second.

Light calls (a 304, a failed fetch) run on a few threads of this process instead: all they do is read and
write small state files, and each write waits for an fsync (about 9 ms here). One at a time, a warm run of
1,000 unchanged policies spent 15 s waiting for the disk; eight at a time share its flushes.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait

MIN_JOBS = 32  # fewer policies than this are processed in-process
MAX_PROCESSES = 4
LIGHT_THREADS = 8

_function: Callable | None = None
_common: tuple = ()


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may run on (containers, taskset)
    except AttributeError:
        return os.cpu_count() or 1


def processes_for(jobs: int, per_cpu: int = 1) -> int:
    """Worker processes for a run of `jobs` policies: none on one CPU or for a small run.

    per_cpu > 1 for calls that wait on the disk part of the time, so that another worker uses the CPU meanwhile.
    """
    cpus = usable_cpus()
    return min(cpus, MAX_PROCESSES) * per_cpu if cpus > 1 and jobs >= MIN_JOBS else 0


def can_fork() -> bool:
    """Linux only: on macOS system libraries may start threads of their own, and a forked child can crash."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _start_worker(function: Callable, common: tuple) -> None:
    # Ctrl-C reaches the whole process group: the parent alone handles it (it stops feeding and shuts the pool
    # down), so workers finish the version they are writing instead of each printing a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _function, _common
    _function, _common = function, common


def _call(*args):
    return _function(*args, *_common)


class Processing:
    """Calls function(*args, *common) in-process or on worker processes; see map().

    At most 2×processes calls are in flight on the workers and 2×LIGHT_THREADS on the threads: map() takes
    the next args only when there is room, so a fast fetcher never piles bodies up in memory. If a worker
    dies or the arguments cannot be sent, the call runs in-process instead and so do all later ones: a run
    never fails for want of parallelism.

    Spawned workers are costly to start: then the first `in_process_first` calls that are not light run
    in-process, and workers start only after them, so a run with a handful of bodies to read pays for none.
    """

    def __init__(self, function: Callable, common: tuple, processes: int, in_process_first: int = 0):
        self._function, self._common = function, common
        forking = can_fork()
        self._in_process_left = 0 if forking else in_process_first
        self._limit = 2 * processes
        self._pending: dict[Future, tuple] = {}
        self._light_pool = ThreadPoolExecutor(LIGHT_THREADS, thread_name_prefix="light")
        self._light_pending: set[Future] = set()
        self._pool: ProcessPoolExecutor | None = None
        if processes:
            # Workers are this process's children either way, reaped by it, so their CPU time shows in its rusage.
            context = multiprocessing.get_context("fork" if forking else "spawn")
            self._pool = ProcessPoolExecutor(processes, context, initializer=_start_worker, initargs=(function, common))
            if forking:  # a fork pool starts all its workers with its first call: now, while no thread runs
                self._pool.submit(os.getpid).result()

    def __enter__(self) -> Processing:
        return self

    def __exit__(self, *exc) -> None:
        self._light_pool.shutdown(wait=True, cancel_futures=True)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def map(self, calls: Iterable[tuple], light: Callable[..., bool] = lambda *args: False) -> Iterator:
        """Results of function(*args, *common) for each args of `calls`, in the order they finish.

        Calls for which light(*args) is true run on this process's threads: sending them to a worker would
        cost more than they do. Workers start only when the first other call comes, so a run of light calls
        starts none.
        """
        for args in calls:
            if light(*args):
                yield from self._put_light(*args)
            else:
                yield from self._put(*args)
            yield from self._collect_light(block=False)
        while self._pending:
            yield from self._collect(block=True)
        while self._light_pending:
            yield from self._collect_light(block=True)

    def _put_light(self, *args) -> Iterator:
        self._light_pending.add(self._light_pool.submit(self._function, *args, *self._common))
        yield from self._collect_light(block=len(self._light_pending) >= 2 * LIGHT_THREADS)

    def _collect_light(self, block: bool) -> Iterator:
        done = {future for future in self._light_pending if future.done()}
        if block and not done:
            done, _ = wait(self._light_pending, return_when=FIRST_COMPLETED)
        self._light_pending -= done
        for future in done:
            yield future.result()

    def _put(self, *args) -> Iterator:
        """Start one call; yields the results of calls that have finished meanwhile (maybe this one's)."""
        if self._pool is None or self._in_process_left > 0:
            self._in_process_left -= 1
            yield self._function(*args, *self._common)
            return
        try:
            self._pending[self._pool.submit(_call, *args)] = args
        except Exception:  # the pool broke earlier (BrokenProcessPool) or is shutting down
            yield from self._abandon_pool()
            yield self._function(*args, *self._common)
            return
        yield from self._collect(block=len(self._pending) >= self._limit)

    def _collect(self, block: bool) -> Iterator:
        done = [future for future in self._pending if future.done()]
        if block and not done:
            done, _ = wait(self._pending, return_when=FIRST_COMPLETED)
        for future in done:
            if future not in self._pending:
                continue  # already done over in-process when the pool was abandoned
            args = self._pending.pop(future)
            try:
                result = future.result()
            except Exception:  # a worker died, or args or result would not pickle: do this one here
                yield from self._abandon_pool()
                result = self._function(*args, *self._common)
            yield result

    def _abandon_pool(self) -> Iterator:
        """Stop using the workers once the calls they run have ended; the calls they never ran are done here."""
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        pending, self._pending = self._pending, {}
        pool.shutdown(wait=True, cancel_futures=True)
        for future, args in pending.items():
            if not future.cancelled() and future.exception() is None:
                yield future.result()
            else:
                yield self._function(*args, *self._common)
