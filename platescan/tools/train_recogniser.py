"""Teach the PP-OCRv6 recogniser plate typefaces: fine-tune it on rendered plate rows.

The recogniser that ships in rapidocr's wheel learnt on documents and scenes; plates print
narrow, square typefaces where it mistakes W for N, D for 0 and a 4 with an open top for L.
This tool converts that model from ONNX to PyTorch, fine-tunes every layer on rows drawn by
`plate_lines` (CTC loss over the model's own dictionary, so its output keeps its shape and
meaning, and the decoder reads it unchanged), and writes the result back as ONNX.

It runs offline on the CPU, outside the project's environment, because it needs PyTorch:

    python3 -m venv .venv-train
    .venv-train/bin/pip install -r requirements.txt -r requirements-train.txt
    .venv-train/bin/python -m platescan.tools.train_recogniser OUT.onnx

The defaults are the recipe `plate_rec.onnx` was made with (400 steps at 1e-5, seed 7);
at 5e-5 the model drifted to the rendered rows and read real plates worse.

Batch norm keeps the statistics the model learnt on real photos (the layers stay in
evaluation mode while the weights move), and the learning rate is small: rendered rows are
cleaner than photos, and the aim is to add plate typefaces, not to forget photos.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
import types
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from platescan.engines.onnx.decoding import Decoder
from platescan.tools.plate_lines import Sample, render

HEIGHT = 48
WIDTH = 320  # rapidocr's training width for this model: 40 CTC frames
BLANK = 0


def base_model_path() -> Path:
    """The recogniser inside rapidocr's installed wheel."""
    import rapidocr

    return Path(rapidocr.__file__).parent / "models" / "PP-OCRv6_rec_small.onnx"


def dictionary(path: Path) -> list[str]:
    """The recogniser's symbols in output order, as rapidocr decodes them: the model's
    `character` metadata, the CTC blank before it and a space after it."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    symbols = session.get_modelmeta().custom_metadata_map["character"].splitlines()
    return ["blank", *symbols, " "]


def to_tensor_rows(image: np.ndarray) -> np.ndarray:
    """One BGR crop as the recogniser's input: 48 px tall, normalised to [-1, 1], padded right
    with zeros to WIDTH, as rapidocr's `resize_norm_img` prepares it."""
    h, w = image.shape[:2]
    width = min(WIDTH, max(8, math.ceil(HEIGHT * w / h)))
    resized = cv2.resize(image, (width, HEIGHT)).astype(np.float32).transpose(2, 0, 1) / 255
    out = np.zeros((3, HEIGHT, WIDTH), np.float32)
    out[:, :, :width] = (resized - 0.5) / 0.5
    return out


def _without_torchvision() -> None:
    """onnx2torch imports torchvision for its NMS and RoIAlign converters, which this model
    does not use; PyPI's torchvision does not load beside the CPU build of torch here."""
    if "torchvision" in sys.modules:
        return
    stub = types.ModuleType("torchvision")
    ops = types.ModuleType("torchvision.ops")
    ops.nms = ops.roi_align = ops.batched_nms = None  # type: ignore[attr-defined]
    stub.ops = ops  # type: ignore[attr-defined]
    sys.modules["torchvision"] = stub
    sys.modules["torchvision.ops"] = ops


def load_trainable(path: Path) -> Any:
    """The ONNX recogniser as a PyTorch module that returns logits (its final softmax off).

    onnx2torch does not convert `auto_pad=SAME_UPPER`; the model uses it only on 2x2
    kernels of stride 1, whose padding is one row and one column after the input.
    """
    import onnx
    import torch

    _without_torchvision()
    from onnx2torch import convert

    model = onnx.load(str(path))
    for node in model.graph.node:
        for attribute in list(node.attribute):
            if attribute.name == "auto_pad" and attribute.s == b"SAME_UPPER":
                node.attribute.remove(attribute)
                node.attribute.append(onnx.helper.make_attribute("pads", [0, 0, 1, 1]))
    module = convert(model)
    softmaxes = [
        name for name, child in module.named_modules() if "Softmax" in type(child).__name__
    ]
    # The last softmax turns the classifier's logits into the probabilities the engine reads.
    last = softmaxes[-1]
    parent = module.get_submodule(".".join(last.split(".")[:-1])) if "." in last else module
    setattr(parent, last.split(".")[-1], torch.nn.Identity())
    return module


def encode(text: str, index: dict[str, int]) -> list[int]:
    return [index[c] for c in text]


def batches(seed: int, size: int, index: dict[str, int]) -> Any:
    """Endless batches of rendered rows: (inputs, each row's label as dictionary indices)."""
    rng = random.Random(seed)
    while True:
        samples: list[Sample] = [render(rng) for _ in range(size)]
        inputs = np.stack([to_tensor_rows(s.image) for s in samples])
        labels = [encode(s.text, index) for s in samples]
        yield inputs, labels


def read(decoder: Decoder, probs: np.ndarray) -> str:
    """A row's plate characters as the engine decodes its probabilities (upper case, as
    labels are)."""
    return decoder.decode_plate(probs)[0].upper()


def evaluate(module: Any, samples: list[Sample], characters: list[str]) -> float:
    """Exact plate-character reads of held-out rendered rows."""
    import torch

    decoder = Decoder(characters)
    right = 0
    with torch.no_grad():
        for start in range(0, len(samples), 64):
            chunk = samples[start : start + 64]
            x = torch.from_numpy(np.stack([to_tensor_rows(s.image) for s in chunk]))
            probs = torch.softmax(module(x), dim=-1).numpy()  # the module returns logits
            for row, s in zip(probs, chunk, strict=True):
                right += read(decoder, row) == "".join(c for c in s.text if c.isalnum())
    return right / len(samples)


def export(module: Any, dest: Path, base: Path) -> None:
    """The fine-tuned module as ONNX, softmax restored and the base model's metadata (its
    dictionary) carried over: a drop-in replacement that rapidocr loads unchanged."""
    import onnx
    import torch

    class WithSoftmax(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: Any) -> Any:
            return torch.softmax(self.inner(x), dim=-1)

    wrapped = WithSoftmax(module).eval()
    dest.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        wrapped,
        (torch.zeros(1, 3, HEIGHT, 192),),
        str(dest),
        input_names=["x"],
        output_names=["probs"],
        dynamic_axes={"x": {0: "batch", 3: "width"}, "probs": {0: "batch", 1: "frames"}},
        opset_version=17,
        dynamo=False,
    )
    exported = onnx.load(str(dest))
    for prop in onnx.load(str(base), load_external_data=False).metadata_props:
        exported.metadata_props.add(key=prop.key, value=prop.value)
    onnx.save(exported, str(dest))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the fine-tuned ONNX model")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--every", type=int, default=100, help="evaluate and save this often")
    args = parser.parse_args(argv)

    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    base = base_model_path()
    characters = dictionary(base)
    index = {c: i for i, c in enumerate(characters) if i != BLANK}
    module = load_trainable(base)
    # Evaluation mode throughout: batch norm keeps its statistics from real photos, and
    # dropout (if any) stays off; the weights still learn.
    module.eval()
    held_out = [render(random.Random(10_000 + i)) for i in range(400)]
    print(f"held-out exact before: {evaluate(module, held_out, characters):.3f}", flush=True)
    optimiser = torch.optim.AdamW(module.parameters(), lr=args.lr, weight_decay=0.0)
    warmup = max(1, args.steps // 30)

    def rate(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, args.steps - warmup)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, rate)
    ctc = torch.nn.CTCLoss(blank=BLANK, zero_infinity=True)
    started = time.time()
    running = 0.0
    for step, (inputs, labels) in enumerate(batches(args.seed, args.batch, index)):
        if step >= args.steps:
            break
        logits = module(torch.from_numpy(inputs))  # batch x frames x symbols
        log_probs = logits.log_softmax(-1).permute(1, 0, 2)
        frames = torch.full((len(labels),), log_probs.shape[0], dtype=torch.long)
        targets = torch.tensor([i for label in labels for i in label], dtype=torch.long)
        lengths = torch.tensor([len(label) for label in labels], dtype=torch.long)
        loss = ctc(log_probs, targets, frames, lengths)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), 5.0)
        optimiser.step()
        schedule.step()
        running = 0.98 * running + 0.02 * float(loss) if step else float(loss)
        if (step + 1) % 50 == 0:
            print(f"step {step + 1} loss {running:.3f} {time.time() - started:.0f}s", flush=True)
        if (step + 1) % args.every == 0 or step + 1 == args.steps:
            accuracy = evaluate(module, held_out, characters)
            print(f"step {step + 1} held-out exact {accuracy:.3f}", flush=True)
            export(module, args.out.with_suffix(f".{step + 1}.onnx"), base)
    export(module, args.out, base)
    print(f"wrote {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
