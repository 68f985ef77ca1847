"""A fixed number of generation slots with a short queue: what bounds the server's CPU and memory under load.

Each generation (the model call and its PNG/GIF encoding) runs on one of ``slots`` worker threads, so at
most ``slots`` sets of activations and images exist at once, and only those threads ever allocate them
(glibc keeps memory in per-thread arenas). Up to ``queue`` more requests wait, each at most ``wait_s``
seconds, holding no thread; a request beyond that is refused at once with 503 and ``Retry-After``, so a
burst costs waiting time and refusals, not memory. Measured (docs/benchmarks.md, 128 requests of n=256
from 32 clients): a PyTorch server generating everything at once peaked at 5.1 GB and kept 4.8 GB; with
2 slots and a queue of 16 it peaked at 1.2 GB (an ONNX Runtime server: 1.7 GB against 0.25 GB).
"""

import asyncio
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class ServerBusy(Exception):
    """No slot free in time: the message says why, ``retry_after_s`` when to try again."""

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class GenerationSlots:
    def __init__(self, slots: int, queue: int, wait_s: float):
        self.slots, self.queue, self.wait_s = slots, queue, wait_s
        self.waiting = 0  # touched only from the event loop's thread: no lock needed
        self.executor = ThreadPoolExecutor(slots, thread_name_prefix="generate")
        self.loop: asyncio.AbstractEventLoop | None = None
        self.semaphore = asyncio.Semaphore(slots)

    def free(self) -> asyncio.Semaphore:
        """The free slots, counted in the running event loop: a server has one loop, but a TestClient used
        without ``with`` starts a new one per request, and an asyncio semaphore belongs to one loop."""
        loop = asyncio.get_running_loop()
        if loop is not self.loop:
            self.loop, self.semaphore = loop, asyncio.Semaphore(self.slots)
        return self.semaphore

    @property
    def retry_after_s(self) -> int:
        return max(1, math.ceil(self.wait_s / 2))  # about when today's queue has moved on

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` on a worker thread once a slot is free; ServerBusy when the queue is full or too slow."""
        free = self.free()
        if free.locked() and self.waiting >= self.queue:
            raise ServerBusy(
                f"the server is busy: {self.slots} generations running and {self.waiting} waiting, the most it "
                f"queues (max_queue={self.queue}); retry in {self.retry_after_s} s",
                self.retry_after_s,
            )
        self.waiting += 1
        try:
            await asyncio.wait_for(free.acquire(), timeout=self.wait_s)
        except TimeoutError:
            raise ServerBusy(
                f"the server is busy: no generation slot came free within max_wait_s={self.wait_s:g} s; "
                f"retry in {self.retry_after_s} s",
                self.retry_after_s,
            ) from None
        finally:
            self.waiting -= 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, work)
        finally:
            free.release()

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
