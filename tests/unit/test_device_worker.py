"""The device worker: one thread owns a device's I/O and forgets each job once it is done."""

import gc
import time
import weakref

from devices.status import DeviceState, DeviceStatus
from devices.worker import DeviceWorker


class Document:
    """Stands for a citizen's document held by a print job."""


def _ready() -> DeviceStatus:
    return DeviceStatus("card_printer", DeviceState.READY)


def test_a_finished_job_is_not_kept_by_the_worker_thread():
    worker = DeviceWorker("card_printer", _ready, poll_interval=60).start()
    try:
        document = Document()
        alive = weakref.ref(document)
        future = worker.submit(lambda held=document: "printed")
        assert future.result(timeout=5) == "printed"
        del future, document
        deadline = time.monotonic() + 5
        while alive() is not None and time.monotonic() < deadline:
            gc.collect()
            time.sleep(0.01)
        assert alive() is None, "the worker still holds the last job's document"
    finally:
        worker.stop()


def test_a_job_runs_on_the_device_thread_and_publishes_status_after():
    seen = []
    worker = DeviceWorker("a4_printer", _ready, poll_interval=60).start()
    try:
        worker.status_events.subscribe(seen.append)
        future = worker.submit(lambda: __import__("threading").current_thread().name)
        assert future.result(timeout=5) == "device-a4_printer"
        assert seen and seen[-1].state == DeviceState.READY
    finally:
        worker.stop()
