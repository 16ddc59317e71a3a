"""The rendered plate rows the recogniser is fine-tuned on: labels, shapes, repeatability,
and the input tensor the training feeds the model (the one the engine feeds it)."""

from __future__ import annotations

import random
import string
from pathlib import Path

import numpy as np
import pytest

from platescan.engines.onnx.decoding import Decoder
from platescan.engines.onnx.models import Models
from platescan.tools import plate_lines, train_recogniser

# A face every machine here has (the synthetic benchmark draws with it too); the training
# faces come from Debian font packages that the test machine need not have.
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
PLATE_SYMBOLS = set(string.ascii_uppercase + string.digits + " -.")


def test_texts_are_plate_symbols_of_plate_length_from_layouts_and_free_mixes() -> None:
    rng = random.Random(3)
    texts = [plate_lines.random_text(rng) for _ in range(2000)]

    for text in texts:
        assert set(text) <= PLATE_SYMBOLS, text
        assert 4 <= sum(c.isalnum() for c in text) <= 9, text
        assert text == text.strip()
    # Both halves are there: layouts with their separators, and free mixes of 4-8.
    assert any(" " in t or "-" in t for t in texts)
    assert any(t.isalnum() and len(t) == 8 for t in texts)
    assert len(set(texts)) > 1900


def test_layouts_cover_the_regions_formats_json_knows() -> None:
    layouts = plate_lines._layouts()

    compact = {layout.replace(" ", "").replace("-", "") for layout in layouts}
    assert {"NLLLNNN", "LLLNLNN", "LLNNLLL"} <= compact  # California, Mercosur, UK
    assert len(layouts) > 100


@pytest.mark.skipif(not DEJAVU.exists(), reason="DejaVu Sans Bold is not installed")
def test_a_row_is_a_bgr_crop_of_the_engines_height_and_repeats_with_its_seed() -> None:
    first = plate_lines.render(random.Random(11), (DEJAVU,))
    again = plate_lines.render(random.Random(11), (DEJAVU,))
    other = plate_lines.render(random.Random(12), (DEJAVU,))

    assert first.image.dtype == np.uint8 and first.image.shape[2] == 3
    assert first.image.shape[0] == 96 and first.image.shape[1] > 96
    assert first.text == again.text and np.array_equal(first.image, again.image)
    assert (other.text, other.image.shape) != (first.text, first.image.shape)


@pytest.mark.skipif(not DEJAVU.exists(), reason="DejaVu Sans Bold is not installed")
def test_training_input_matches_what_the_engine_feeds_the_recogniser() -> None:
    # Given a rendered row, when the trainer and the engine's recogniser prepare it
    sample = plate_lines.render(random.Random(5), (DEJAVU,))
    ours = train_recogniser.to_tensor_rows(sample.image)
    rec = Models().rec
    theirs = rec.resize_norm_img(sample.image, train_recogniser.WIDTH / train_recogniser.HEIGHT)

    # Then both are the same tensor: the model learns on what it is later shown.
    assert ours.shape == theirs.shape == (3, 48, train_recogniser.WIDTH)
    assert np.allclose(ours, theirs, atol=1e-5)


def test_the_trainer_scores_rows_with_the_engines_decoder() -> None:
    characters = ["blank", "A", "b", "-", "7"]
    frames = [1, 1, 0, 1, 3, 2, 2, 0, 4]  # A A _ A - b b _ 7
    probs = np.eye(len(characters))[frames]

    # Repeats collapse, blanks and symbols drop, and case is the label's (upper).
    assert train_recogniser.read(Decoder(characters), probs) == "AAB7"
