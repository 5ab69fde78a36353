"""`ptocr`'s failures: every user-caused one is one `ptocr: error:` line per problem and the documented exit status
(`ptocr --help`), never a traceback; a closed stdout or Ctrl-C (in a subprocess, as a user meets them) stops the
run quietly. A batch that reads the rest after a failure is tested in test_cli.py."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ptocr import cli

from .paths import REPO, shared_path

# Runs the CLI with an engine that takes 0.2 s per image and fails on names with "bad" in them, so that the
# output and signal handling are tested without the models' load time.
_FAKE_ENGINE = """
import sys, time
import ptocr
from ptocr import cli
from ptocr.errors import ImageDecodeError
from ptocr.pipeline.results import OCRResult

class Engine:
    def __init__(self, **kwargs):
        pass
    def run(self, image, **kwargs):
        time.sleep(0.2)
        if "bad" in str(image):
            raise ImageDecodeError(f"{image}: cannot decode the image (not a known image format)")
        return OCRResult(lines=(), image_height=5, image_width=10)
    def run_many(self, images, chunk_size, **kwargs):
        for image in images:
            yield self.run(image)

ptocr.OCR = Engine
sys.exit(cli.main(sys.argv[1:]))
"""


def _env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def _one_line_errors(stderr: str, count: int) -> None:
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == count and all(line.startswith("ptocr: error: ") for line in lines), stderr


def test_the_exit_statuses_are_documented_in_the_help() -> None:
    assert (cli.EXIT_OK, cli.EXIT_INPUT_FAILED, cli.EXIT_USAGE, cli.EXIT_MODELS, cli.EXIT_OUTPUT) == (0, 1, 2, 3, 4)
    assert (cli.EXIT_INTERRUPTED, cli.EXIT_BROKEN_PIPE) == (130, 141)
    help_text = cli._ocr_parser().format_help()
    for status in ("0 ", "1 ", "2 ", "3 ", "4 ", "130", "141"):
        assert f"\n  {status}" in help_text


def test_inputs_that_name_nothing_readable_fail_one_line_each(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty = tmp_path / "no_images"
    empty.mkdir()
    (empty / "notes.txt").write_text("no image here")
    dangling = tmp_path / "gone.jpg"
    dangling.symlink_to(tmp_path / "nowhere.jpg")
    assert cli.main([str(tmp_path / "missing.png"), str(empty), str(dangling)]) == cli.EXIT_INPUT_FAILED
    out, err = capsys.readouterr()
    assert out == ""
    _one_line_errors(err, 3)
    assert cli.main([str(dangling), "--batch", "0"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == "ptocr: error: argument --batch: expected a positive number, got '0'"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--det-model", "no_such_det"], "unknown model 'no_such_det'"),
        (["--det-model", "ch_PP-OCRv4_rec"], "ch_PP-OCRv4_rec is a rec model, not a det model"),
        (["--lang", "klingon"], "unsupported lang 'klingon'"),
        (["--preset", "chinese_db_crnn_mobile", "--cls-model", "ch_PP-OCRv4_det"], "is a det model, not a cls model"),
    ],
)
def test_model_choices_that_cannot_work_exit_3(
    capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    image = shared_path("images", "imgs", "11.jpg")
    assert cli.main([str(image), *options]) == cli.EXIT_MODELS
    out, err = capsys.readouterr()
    assert out == ""
    _one_line_errors(err, 1)
    assert message in err


def test_a_damaged_model_store_exits_3_without_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A cached weights file damaged after it was verified: the store finds the mismatch and, with no network to
    fetch it again, says so in one line (the classifier is loaded first)."""
    name = "ch_ppocr_mobile_v2.0_cls"
    cached = Path(os.environ.get("PTOCR_HOME") or Path.home() / ".cache" / "ptocr") / "models" / name / "paddle"
    if not (cached / "inference.pdiparams").is_file():
        pytest.skip(f"{name} is not cached")
    home = tmp_path / "store"
    shutil.copytree(cached, home / "models" / name / "paddle")
    weights = home / "models" / name / "paddle" / "inference.pdiparams"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] + b"\xff" * 64)
    offline = {  # every way the store could fetch a fresh copy leads nowhere
        "PTOCR_HOME": str(home), "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "NO_PROXY": "", "no_proxy": "",
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_NO_CACHE_DIR": "1", "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "2", "PIP_CONFIG_FILE": os.devnull, "PIP_FIND_LINKS": "",
    }  # fmt: skip
    for key, value in offline.items():
        monkeypatch.setenv(key, value)
    image = str(shared_path("images", "imgs", "11.jpg"))
    assert cli.main([image, "--cls-model", name]) == cli.EXIT_MODELS
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err.startswith(f"ptocr: error: could not fetch {name}") and "ptocr models import" in err


def _folder_of_fakes(tmp_path: Path, count: int = 12) -> Path:
    folder = tmp_path / "pages"
    folder.mkdir()
    for index in range(count):
        (folder / f"{index:02d}.png").write_bytes(b"x")
    (folder / "zz_bad.png").write_bytes(b"x")  # read last: its error line would show that the run went on
    return folder


def _start_fake(tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", _FAKE_ENGINE, *args]
    return subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_closed_stdout_stops_the_run_quietly_with_141(tmp_path: Path) -> None:
    process = _start_fake(tmp_path, str(_folder_of_fakes(tmp_path)), "--batch", "2")
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    assert first.startswith(b'{"image": ')
    process.stdout.close()  # as `| head -1` does: 12 images are still to come
    assert process.wait(timeout=60) == cli.EXIT_BROKEN_PIPE
    assert process.stderr.read() == b""  # no broken-pipe line per image, and zz_bad.png was never read


def test_ctrl_c_stops_the_run_with_130_and_no_traceback(tmp_path: Path) -> None:
    process = _start_fake(tmp_path, str(_folder_of_fakes(tmp_path)), "--batch", "1")
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith(b'{"image": ')
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == cli.EXIT_INTERRUPTED
    process.stdout.read()
    assert b"Traceback" not in process.stderr.read()
