"""The detector and recogniser of rapidocr's wheel (PP-OCRv6 small) on onnxruntime.

Built through rapidocr's public stage classes (`TextDetector`, `TextRecognizer`) from the
configuration `RapidOCR` loads, so the models are the ones the wheel ships and nothing is
downloaded. One instance per worker thread: rapidocr's objects are not shared across
threads, and each session runs on one onnxruntime thread.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from platescan.engines.onnx.decoding import EMPTY, Decoder, Recognised

MODEL_VERSION = "rapidocr-3.10/PP-OCRv6-small"
FULL_DET_LIMIT = 960  # longest side the full photo is detected at (about 0.28 s a photo on 2 cores)
# The recogniser's input is padded to at least this width:height (rapidocr pads to 320:48,
# 6.7). A plate crop is 2-4 wide, so the padding was most of the work: at 4, the US set
# reads one photo more for 13% less CPU; at 3.3 and below, it reads worse.
REC_MIN_RATIO = 4.0
REC_BATCH = 8


def _stage_config(cfg: Any, stage: Any) -> Any:
    """A stage's section of rapidocr's configuration, completed as `RapidOCR` completes it
    before building the stage: its inference engine's settings and the wheel's model folder."""
    stage.engine_cfg = cfg.EngineConfig[stage.engine_type.value]
    stage.model_root_dir = cfg.Global.model_root_dir
    return stage


class Models:
    """One worker's detector and recogniser."""

    def __init__(self) -> None:
        from rapidocr import RapidOCR
        from rapidocr.ch_ppocr_det import TextDetector
        from rapidocr.ch_ppocr_rec import TextRecognizer

        params = {
            "Global.log_level": "error",
            "Det.limit_type": "max",
            "Det.limit_side_len": FULL_DET_LIMIT,
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            # Reusing buffers between runs: 5-10% less CPU a photo (rapidocr turns it off).
            "EngineConfig.onnxruntime.enable_cpu_mem_arena": True,
        }
        cfg = RapidOCR(params=params).cfg
        self.det: Any = TextDetector(_stage_config(cfg, cfg.Det))
        rec_cfg = _stage_config(cfg, cfg.Rec)
        rec_cfg.font_path = cfg.Global.font_path
        self.rec: Any = TextRecognizer(rec_cfg)
        self.det_resize = self.det.get_preprocess()
        # (pixel / 255 - mean) / std, as one subtraction and one multiplication in float32.
        mean = np.asarray(self.det.mean or [0.5] * 3, np.float32)
        std = np.asarray(self.det.std or [0.5] * 3, np.float32)
        self.det_mean = mean * 255.0
        self.det_scale = 1.0 / (std * 255.0)
        self.decoder = Decoder(self.rec.postprocess_op.character)
        # CPU seconds this worker spent in each model (its thread's time, so other threads'
        # work is not counted): what the benchmark reports per recogniser.
        self.cpu_s = {"detector": 0.0, "recogniser": 0.0}

    def detect(
        self, image: np.ndarray, limit: int, *, thresh: float = 0.3, box_thresh: float = 0.5
    ) -> list[np.ndarray]:
        """Quads of the text lines in a BGR image, detected with its longest side at `limit`
        at most; `thresh` and `box_thresh` are the text map's thresholds."""
        started = time.thread_time()
        try:
            return self._detect(image, limit, thresh, box_thresh)
        finally:
            self.cpu_s["detector"] += time.thread_time() - started

    def _detect(
        self, image: np.ndarray, limit: int, thresh: float, box_thresh: float
    ) -> list[np.ndarray]:
        # Per call, not per instance: each worker owns its detector, so this is thread-safe.
        self.det_resize.limit_side_len = limit
        self.det.postprocess_op.thresh = thresh
        self.det.postprocess_op.box_thresh = box_thresh
        resized = self.det_resize.resize(image)
        if resized is None:
            return []
        # rapidocr's own preprocessing normalises in float64 and rebuilds its settings
        # object on every call: 20 ms a photo; the same arithmetic in float32 takes 3.
        tensor = (resized.astype(np.float32) - self.det_mean) * self.det_scale
        preds = self.det.session(np.ascontiguousarray(tensor.transpose(2, 0, 1)[np.newaxis]))
        boxes, _ = self.det.postprocess_op(preds, image.shape[:2])
        if len(boxes) == 0:
            return []
        return [np.asarray(box, dtype=np.float32) for box in self.det.sorted_boxes(boxes)]

    def recognise(self, crops: list[np.ndarray]) -> list[Recognised]:
        """What the recogniser read in each crop (plate text keeps A-Z0-9 only)."""
        started = time.thread_time()
        try:
            return self._recognise(crops)
        finally:
            self.cpu_s["recogniser"] += time.thread_time() - started

    def _recognise(self, crops: list[np.ndarray]) -> list[Recognised]:
        out: list[Recognised] = [EMPTY] * len(crops)
        order = sorted(range(len(crops)), key=lambda i: crops[i].shape[1] / crops[i].shape[0])
        for start in range(0, len(order), REC_BATCH):
            batch = order[start : start + REC_BATCH]
            ratio = max([REC_MIN_RATIO] + [crops[i].shape[1] / crops[i].shape[0] for i in batch])
            tensor = np.concatenate(
                [self.rec.resize_norm_img(crops[i], ratio)[np.newaxis] for i in batch]
            ).astype(np.float32)
            probs = self.rec.session(tensor)
            for row, index in enumerate(batch):
                out[index] = self.decoder.decode(probs[row])
        return out
