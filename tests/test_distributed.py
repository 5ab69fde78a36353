"""`ptocr batch` and `ptocr.distributed` on a real local Ray (2 CPUs, a 200 MiB object store): nothing mocked.

The proof of README "Many inputs on Ray Data": the dev images through ``ptocr batch`` give the plain CLI's lines
in Parquet and in JSON lines; a worker killed mid-run still leaves every row exactly once; a second run over the
same output reads nothing; bad inputs become error rows beside every good row; the Python API reads a Dataset
of bytes and a table of paths, and resumes after rows were lost.

Lines are compared as `OCR.run_many` promises against `OCR.run`: texts and boxes exactly, scores to 1e-4 (the
workers batch other images together than the CLI does, which changes float32 summation order in the
recogniser; measured up to 4.5e-6).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ray.data", reason="ptocr.distributed needs the ray extra: pip install 'ptocr[ray]'")

import pyarrow as pa
import pyarrow.parquet as pq  # after the skip: pyarrow comes with Ray Data

from ptocr import cli
from ptocr.distributed import DoneKeys, jsonl_line, output_schema

from .paths import REPO, shared_path

LOCAL_RAY = ["--num-cpus", "2", "--object-store-mb", "200"]
SCORE_TOLERANCE = 1e-4
Key = tuple[str, Any]


def _batch(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``ptocr batch ARGS`` in a process of its own, as a user runs it, on a local Ray of 2 CPUs."""
    code = "import sys; from ptocr.cli import main; sys.exit(main(sys.argv[1:]))"
    command = [sys.executable, "-c", code, "batch", *args, *LOCAL_RAY]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO)


def _plain_cli(inputs: list[str], output: Path) -> dict[Key, dict[str, Any]]:
    assert cli.main(["-q", *inputs, "-o", str(output)]) in (0, 1)
    return _by_key(json.loads(line) for line in output.read_text().splitlines())


def _by_key(rows: Any) -> dict[Key, dict[str, Any]]:
    found: dict[Key, dict[str, Any]] = {}
    for row in rows:
        key = (row["image"], row.get("page"))
        assert key not in found, f"{key} twice"
        found[key] = row
    return found


def _jsonl_rows(folder: Path) -> dict[Key, dict[str, Any]]:
    return _by_key(json.loads(line) for name in sorted(folder.glob("*.jsonl")) for line in name.open())


def _parquet_rows(folder: Path) -> dict[Key, dict[str, Any]]:
    """The Parquet rows as the JSON lines write them (null columns left out), the same code that writes those."""
    tables = [pq.read_table(name) for name in sorted(folder.glob("*.parquet"))]
    return _by_key(json.loads(jsonl_line(row)) for table in tables for row in table.to_pylist())


def _assert_same_lines(expected: dict[Key, dict[str, Any]], got: dict[Key, dict[str, Any]]) -> None:
    assert set(got) == set(expected)
    for key, want in expected.items():
        row = got[key]
        assert len(row["sha256"]) == 64
        assert [line["text"] for line in row["results"]] == [line["text"] for line in want["results"]], key
        for line, wanted in zip(row["results"], want["results"], strict=True):
            assert line["box"] == wanted["box"], key
            assert abs(line["score"] - wanted["score"]) <= SCORE_TOLERANCE, key


def _summary(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("ptocr batch:")]
    assert lines, result.stderr[-3000:]
    return lines[-1]


@pytest.fixture(scope="module")
def dev_images() -> Path:
    return shared_path("images")


@pytest.fixture(scope="module")
def cli_rows(dev_images: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[Key, dict[str, Any]]:
    """What the plain CLI writes for the dev images."""
    rows = _plain_cli([str(dev_images)], tmp_path_factory.mktemp("cli") / "plain.jsonl")
    assert len(rows) == 93
    return rows


def _relative(rows: dict[Key, dict[str, Any]], root: Path) -> dict[Key, dict[str, Any]]:
    return {(str(Path(image).relative_to(root)), page): row for (image, page), row in rows.items()}


def test_dev_images_in_parquet_are_the_plain_cli_lines_and_a_second_run_reads_nothing(
    dev_images: Path, cli_rows: dict[Key, dict[str, Any]], tmp_path: Path
) -> None:
    inputs, out = tmp_path / "images", tmp_path / "out"
    shutil.copytree(dev_images, inputs)  # a copy: one of them is changed below
    first = _batch(str(inputs), "-o", str(out))
    assert first.returncode == 0, first.stderr[-3000:]
    assert "93 new rows (0 errors)" in _summary(first)
    _assert_same_lines(_relative(cli_rows, dev_images), _relative(_parquet_rows(out), inputs))
    table = pq.read_table(sorted(out.glob("*.parquet"))[0])
    assert table.schema.equals(output_schema(), check_metadata=False)

    files = {path.name: path.stat().st_mtime_ns for path in out.iterdir()}
    second = _batch(str(inputs), "-o", str(out))
    assert second.returncode == 0, second.stderr[-3000:]
    assert "nothing to read: every input is in" in _summary(second) and "(93 rows)" in _summary(second)
    assert "Ray" not in second.stderr  # no Ray was started, no model loaded
    assert {path.name: path.stat().st_mtime_ns for path in out.iterdir()} == files

    # One input's content changed: only it is read again; its earlier row stays, under its old hash.
    changed = inputs / "imgs_en" / "img_12.jpg"
    changed.write_bytes((dev_images / "imgs" / "11.jpg").read_bytes())
    third = _batch(str(inputs), "-o", str(out))
    assert third.returncode == 0, third.stderr[-3000:]
    assert "1 new rows (0 errors)" in _summary(third) and "93 were there already" in _summary(third)
    rows = [row for name in sorted(out.glob("*.parquet")) for row in pq.read_table(name).to_pylist()]
    versions = [row for row in rows if row["image"] == str(changed)]
    assert len(rows) == 94 and len({row["sha256"] for row in versions}) == 2


def _ocr_workers() -> dict[int, str]:
    """pid → process title of this machine's Ray Data OCR workers."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "MapWorker(MapBatches(OCRWorker))" in title:
                found[int(entry.name)] = title
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="finds Ray's worker processes in /proc")
def test_dev_images_in_jsonl_survive_a_worker_killed_mid_run(
    dev_images: Path, cli_rows: dict[Key, dict[str, Any]], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    killed: list[int] = []
    before = set(_ocr_workers())  # none of this test's: leftovers of another run must not be the victim

    def kill_a_busy_worker() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not killed:
            busy = [pid for pid, title in _ocr_workers().items() if pid not in before and ".submit" in title]
            if busy:
                time.sleep(3)  # well into its first batches
                os.kill(busy[0], signal.SIGKILL)
                killed.append(busy[0])
            time.sleep(0.2)

    killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
    killer.start()
    result = _batch(str(dev_images), "-o", str(out), "--format", "jsonl", "--batch", "4")
    killer.join(timeout=5)
    assert killed, "no OCR worker was seen working"
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Worker PID: {killed[0]}" in result.stdout + result.stderr  # Ray reports the death, then retries
    assert "93 new rows (0 errors)" in _summary(result)
    rows = _jsonl_rows(out)  # each (image, page) once: _by_key refuses duplicates
    _assert_same_lines(cli_rows, rows)
    assert not list(out.glob("*.partial"))
    for key, row in rows.items():  # the CLI's own line, plus the content hash
        assert {name: value for name, value in row.items() if name != "sha256"}.keys() == cli_rows[key].keys()


def _mixed_inputs(folder: Path, dev_images: Path) -> dict[str, str]:
    """Good and bad inputs; the value says what each should give."""
    import cv2
    from PIL import Image

    good = [dev_images / "imgs" / "ger_1.jpg", dev_images / "imgs" / "11.jpg"]
    for source in good:
        shutil.copy(source, folder / source.name)
    pages = [Image.open(path).convert("RGB") for path in good]
    pages[0].save(folder / "two_pages.pdf", save_all=True, append_images=pages[1:], resolution=200)
    assert cv2.imwritemulti(str(folder / "two_pages.tif"), [cv2.imread(str(path)) for path in good])
    (folder / "random.jpg").write_bytes(os.urandom(5000))
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("not an image\n")
    (folder / "cut.jpg").write_bytes((good[0]).read_bytes()[:300])
    (folder / "cut.pdf").write_bytes((folder / "two_pages.pdf").read_bytes()[:200])
    return {
        "ger_1.jpg": "lines", "11.jpg": "lines", "two_pages.pdf": "pages", "two_pages.tif": "pages",
        "random.jpg": "error", "empty.png": "error", "text.png": "error", "cut.jpg": "error", "cut.pdf": "error",
    }  # fmt: skip


def test_bad_inputs_are_error_rows_beside_every_good_row(dev_images: Path, tmp_path: Path) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    expected = _mixed_inputs(folder, dev_images)
    missing = str(tmp_path / "no_such.png")
    listed = tmp_path / "more.csv"  # a table input: one more good image, and the missing file
    by_uri = dev_images / "imgs" / "japan_1.jpg"  # read through pyarrow's filesystems, as s3:// or gs:// are
    listed.write_text(f"path,note\n{dev_images / 'imgs' / '00009282.jpg'},x\n{missing},y\n{by_uri.as_uri()},z\n")
    out = tmp_path / "out"
    result = _batch(str(folder), str(listed), "-o", str(out), "--format", "jsonl", "-q")
    assert result.returncode == 1, result.stderr[-3000:]  # some inputs failed; the run did not
    assert "Traceback" not in result.stderr
    rows = _jsonl_rows(out)

    readable = [str(folder / name) for name, kind in expected.items() if kind != "error"]
    plain = _plain_cli([*readable, str(dev_images / "imgs" / "00009282.jpg"), str(by_uri)], tmp_path / "plain.jsonl")
    plain[(by_uri.as_uri(), None)] = plain.pop((str(by_uri), None))
    good = {key: row for key, row in rows.items() if "error" not in row}
    _assert_same_lines(plain, good)
    assert {page for (image, page) in good if image.endswith("two_pages.pdf")} == {1, 2}
    assert {page for (image, page) in good if image.endswith("two_pages.tif")} == {1, 2}

    errors = {Path(image).name: row for (image, _), row in rows.items() if "error" in row}
    assert set(errors) == {name for name, kind in expected.items() if kind == "error"} | {"no_such.png"}
    for name, row in errors.items():
        assert row["error"]["type"] == "ImageDecodeError" and name in row["error"]["message"], row
        assert "results" not in row and ("sha256" in row) == (name != "no_such.png")
    assert "no such file" in errors["no_such.png"]["error"]["message"]


def test_python_api_on_bytes_and_a_table_resumes_what_was_lost(dev_images: Path, tmp_path: Path) -> None:
    import ray

    import ptocr.distributed as dist

    images = sorted(glob.glob(str(dev_images / "imgs_en" / "*.jpg")))
    assert len(images) >= 4
    ray.init(num_cpus=2, object_store_memory=200 * 2**20, include_dashboard=False, log_to_driver=False)
    try:
        # One worker: the read tasks need the other CPU.
        read = ray.data.read_binary_files(images, include_paths=True)
        out = tmp_path / "out"
        dist.write_results(dist.ocr_dataset(read, bytes_column="bytes", batch_size=2), str(out), format="parquet")
        first = _parquet_rows(out)
        assert set(first) == {(path, None) for path in images}

        # Rows lost (a file deleted): a re-run reads exactly those, from a table of paths.
        victim = sorted(out.glob("*.parquet"))[0]
        lost = set(_by_key(json.loads(jsonl_line(row)) for row in pq.read_table(victim).to_pylist()))
        victim.unlink()
        scan = dist.scan_output(str(out))
        assert scan.rows == len(images) - len(lost) and len(scan.done) == scan.rows
        table = tmp_path / "inputs.parquet"
        pq.write_table(pa.table({"file": images}), table)
        inputs = dist.input_dataset([str(table)], column="file")
        dist.write_results(dist.ocr_dataset(inputs, skip=scan.done, batch_size=2), str(out), format="parquet")
        second = _parquet_rows(out)  # no duplicates: _by_key refuses them
        assert set(second) == set(first)
        assert {key: row["results"] for key, row in second.items()} == {k: r["results"] for k, r in first.items()}

        # Models a worker cannot load fail the job with their own error, not an error row per input.
        missing = tmp_path / "no_such_weights"
        with pytest.raises(Exception) as failed:
            dist.write_results(dist.ocr_dataset(inputs, det_weights=str(missing)), str(tmp_path / "failed"))
        assert str(missing) in str(failed.value)
        assert not list((tmp_path / "failed").glob("*.parquet"))
    finally:
        ray.shutdown()


def test_done_keys_are_path_hash_and_page() -> None:
    keys = DoneKeys([("a.pdf", "f" * 64, 1), ("b.jpg", "0" * 64, None)])
    assert ("a.pdf", "f" * 64, 1) in keys and ("a.pdf", "f" * 64, 2) not in keys
    assert ("a.pdf", "e" * 64, 1) not in keys  # the content changed: read again
    assert ("c.jpg", "0" * 64, None) not in keys  # the same bytes under another name still get their row
    assert len(keys | DoneKeys([("c.jpg", "0" * 64, None)])) == 3


def test_jsonl_line_leaves_out_what_the_cli_leaves_out() -> None:
    box = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    line = {"box": box, "text": "a", "score": 0.5, "words": None}
    read = {"image": "x.jpg", "page": None, "results": [line], "error": None, "sha256": "ab"}
    assert json.loads(jsonl_line(read)) == {
        "image": "x.jpg", "results": [{"box": box, "text": "a", "score": 0.5}], "sha256": "ab"
    }  # fmt: skip
    failed = {"image": "y.pdf", "page": 3, "results": None, "error": {"type": "E", "message": "m"}, "sha256": None}
    assert json.loads(jsonl_line(failed)) == {"image": "y.pdf", "page": 3, "error": {"type": "E", "message": "m"}}


def test_batch_without_inputs_or_with_unknown_models_fails_before_ray(
    dev_images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    assert cli.main(["batch", str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == 1
    assert "no image files" in capsys.readouterr().err
    image = str(dev_images / "imgs" / "11.jpg")
    assert cli.main(["batch", image, "-o", str(tmp_path / "out"), "--rec-model", "no_such_rec"]) == 3
    assert "no_such_rec" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_batch_without_ray_says_how_to_install_it(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['ray'] = None; sys.modules['ray.data'] = None\n"
        "from ptocr.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "batch", str(tmp_path), "-o", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 3
    assert "pip install 'ptocr[ray]'" in result.stderr and "Traceback" not in result.stderr
