"""The synthetic European/Brazilian plate set: valid texts, boxes on the plate, repeatable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from platescan.plates.formats import match_formats, regions_for_hint
from platescan.tools import benchmark, cli, synthetic

SEED = 7


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    assert synthetic.write_dataset(out, per_region=1, seed=SEED) == 14
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_every_photo_reads_back_through_the_benchmark(dataset: Path) -> None:
    photos = list(benchmark.iter_dataset(dataset))
    regions = json.loads((dataset / "regions.json").read_text(encoding="utf-8"))

    assert len(photos) == 14
    assert sorted(regions.values()) == sorted(synthetic.REGIONS)
    assert sorted(regions) == sorted(photo.path.name for photo in photos)
    for photo in photos:
        assert photo.path.is_file()
        assert photo.path.name.startswith(regions[photo.path.name] + "_")
        assert photo.plate.isalnum() and photo.plate.isupper()
        assert (dataset / photo.path.name).with_suffix(".txt").read_text().count("\t") == 5


def test_texts_fit_their_regions_formats(dataset: Path) -> None:
    regions = json.loads((dataset / "regions.json").read_text(encoding="utf-8"))
    for photo in benchmark.iter_dataset(dataset):
        key = regions[photo.path.name]
        hint = synthetic.REGIONS[key].hint
        exact = [
            m
            for m in match_formats(photo.plate, regions=regions_for_hint(hint))
            if not m.corrections
        ]
        assert exact, f"{photo.plate} ({key}) fits no {hint} format"
        assert {m.format.region for m in exact} - {""} == {hint}  # "": the generic format
        if key == "BR-mercosur":
            assert "BR-MERCOSUR" in {m.format.id for m in exact}
        if key == "BR-old":
            assert "BR-MERCOSUR" not in {m.format.id for m in exact}


def test_boxes_lie_inside_the_photo_and_hold_a_plate_sized_area(dataset: Path) -> None:
    for photo in benchmark.iter_dataset(dataset):
        x, y, width, height = photo.box
        with Image.open(photo.path) as image:
            assert image.size == (synthetic.SCENE_WIDTH, synthetic.SCENE_HEIGHT)
            assert x >= 0 and y >= 0
            assert x + width <= image.width and y + height <= image.height
            # Plates are drawn 180-420 px wide, tilted a little.
            assert 150 <= width <= 480 and 30 <= height <= 200
            assert width > height
            # The box holds the plate, not the car around it: more contrast inside.
            inside = np.asarray(image.convert("L").crop((x, y, x + width, y + height)))
            assert int(inside.max()) - int(inside.min()) > 100


def test_the_cli_with_the_same_seed_writes_identical_files(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    assert cli.main(["synth", str(out), "--per-region", "1", "--seed", str(SEED)]) == 0
    assert _files(out) == _files(dataset)


def test_another_seed_and_hard_give_other_plates_and_a_summary(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "hard"
    argv = ["synth", str(out), "--per-region", "1", "--hard", "--seed", str(SEED + 1)]
    assert cli.main(argv) == 0

    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary == {"photos": 14, "regions": 14, "out": str(out)}
    before = {photo.path.name: photo.plate for photo in benchmark.iter_dataset(dataset)}
    after = {photo.path.name: photo.plate for photo in benchmark.iter_dataset(out)}
    assert before.keys() == after.keys()
    assert sum(before[name] != after[name] for name in before) >= 12
    # --hard draws plates 180-240 px wide.
    assert all(photo.box[2] <= 280 for photo in benchmark.iter_dataset(out))


def test_a_missing_font_file_falls_back_to_the_built_in_font(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(synthetic, "FONT_ROOT", Path("/nonexistent"))
    synthetic.load_font.cache_clear()
    try:
        font = synthetic.load_font("liberation-narrow-bold", 40)
        assert font.getbbox("AB12")[3] > 20
    finally:
        synthetic.load_font.cache_clear()


@pytest.mark.parametrize(
    "argv",
    [["synth", "/proc/no-such-dir/set"], ["synth", "/tmp/unused", "--per-region", "0"]],
)
def test_bad_arguments_get_a_message_not_a_traceback(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_closeups_are_a_labelled_set_of_us_plates(tmp_path: Path) -> None:
    # One close-up of each of the 20 states, through the CLI
    code = cli.main(["synth", str(tmp_path), "--closeups", "--per-region", "1", "--seed", "3"])
    assert code == 0
    photos = list(benchmark.iter_dataset(tmp_path))
    assert len(photos) == 20
    kinds = json.loads((tmp_path / "regions.json").read_text())
    assert set(kinds.values()) <= {"standard", "personalised"}
    for photo in photos:
        with Image.open(photo.path) as image:
            width, height = image.size
        x, y, w, h = photo.box
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height
        assert w * h >= 0.3 * width * height  # a close-up: mostly plate
        if kinds[photo.path.name] == "standard":
            assert match_formats(photo.plate, regions=regions_for_hint("US"))
