"""Worker threads that each hold their own models, and the photos they are given.

Models are loaded once per worker thread (one onnxruntime intra-op thread each, as many
workers as CPUs, `OCR_WORKERS` overrides): on a 2-core machine two single-threaded workers
get through more photos than one two-threaded one, and concurrent executions overlap
instead of queueing behind one session.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import cv2
import numpy as np

from platescan.detections import DetectTextResponse
from platescan.engines.onnx.geometry import to_response
from platescan.engines.onnx.models import Models
from platescan.engines.onnx.strategy import StopRule, read_photo
from platescan.errors import DetectorTimeout


def worker_count() -> int:
    """`OCR_WORKERS` if set, else one worker per CPU."""
    configured = os.environ.get("OCR_WORKERS", "").strip()
    if configured:
        return max(1, int(configured))
    return max(1, os.cpu_count() or 1)


class Pool:
    """Worker threads, each holding its own models, loaded on the thread's first photo.

    `sure` is the stop rule every photo is read with, and `glance_sure` the stricter one
    the glance alone must meet to settle a photo (see `strategy`).
    """

    def __init__(self, workers: int, sure: StopRule, glance_sure: StopRule | None = None) -> None:
        self.workers = workers
        self.sure = sure
        self.glance_sure = glance_sure
        self._local = threading.local()
        self._loaded: list[Models] = []
        self._loaded_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ocr")

    def _models(self) -> Models:
        models = getattr(self._local, "models", None)
        if models is None:
            models = Models()
            self._local.models = models
            with self._loaded_lock:
                self._loaded.append(models)
        return models

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds spent in each model so far, all workers together."""
        with self._loaded_lock:
            loaded = list(self._loaded)
        total: dict[str, float] = {}
        for models in loaded:
            for name, seconds in models.cpu_s.items():
                total[name] = total.get(name, 0.0) + seconds
        return total

    def _run(self, rgb: np.ndarray) -> DetectTextResponse:
        image = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        lines, focused = read_photo(self._models(), image, self.sure, self.glance_sure)
        height, width = image.shape[:2]
        return to_response(lines + focused, width, height)

    def submit(self, rgb: np.ndarray, timeout_s: float | None) -> DetectTextResponse:
        """DetectText's response for an RGB array, or DetectorTimeout after `timeout_s`."""
        future = self._executor.submit(self._run, rgb)
        try:
            return future.result(timeout=timeout_s)
        except FutureTimeout as exc:
            future.cancel()
            raise DetectorTimeout(f"text detection took longer than {timeout_s} s") from exc

    def warm_up(self) -> None:
        """Load every worker's models now (a cold start pays once, before the first photo)."""
        blank = np.full((64, 64, 3), 255, dtype=np.uint8)
        futures = [self._executor.submit(self._run, blank) for _ in range(self.workers)]
        for future in futures:
            future.result()
