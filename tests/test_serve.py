"""`ptocr serve` end to end: the real command, on 127.0.0.1, with the default models, called over HTTP (httpx)
and from a headless Chromium."""

from __future__ import annotations

import base64
import io
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from xml.etree import ElementTree

import cv2
import numpy as np
import pytest
from PIL import Image

from .paths import REPO, shared_path

httpx = pytest.importorskip("httpx", reason="the serve tests call the server with httpx (the test extra)")
pytest.importorskip("fastapi", reason="ptocr serve needs the serve extra (fastapi, uvicorn, python-multipart)")
pytest.importorskip("uvicorn", reason="ptocr serve needs the serve extra (fastapi, uvicorn, python-multipart)")

MAX_UPLOAD_MB = 1
MAX_PIXELS = 1_000_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "ptocr.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--max-upload-mb", str(MAX_UPLOAD_MB), "--max-pixels", str(MAX_PIXELS), "--threads", "2"]  # fmt: skip
    # Its output goes to a file: a pipe that nobody reads while the tests run could fill up, and the server
    # would then block on its next log line.
    log = tmp_path_factory.mktemp("serve") / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"ptocr serve exited with {process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("ptocr serve did not answer /health within 120 s")
            time.sleep(0.25)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def page_bytes() -> bytes:
    return shared_path("images", "imgs_en", "img623.jpg").read_bytes()


def _texts(answer: dict) -> list[str]:
    return [line["text"] for line in answer["results"]]


def test_health_models_and_openapi(server: str) -> None:
    assert httpx.get(f"{server}/health").json() == {"status": "ok"}
    models = httpx.get(f"{server}/models").json()
    assert {task: info["name"] for task, info in models.items()} == {
        "det": "ch_PP-OCRv4_det", "rec": "ch_PP-OCRv4_rec", "cls": "ch_ppocr_mobile_v2.0_cls"}  # fmt: skip
    assert models["rec"]["task"] == "rec" and models["rec"]["description"]
    schema = httpx.get(f"{server}/openapi.json").json()
    body = schema["paths"]["/ocr"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json"} <= set(body)
    assert {p["name"] for p in schema["paths"]["/ocr"]["post"]["parameters"]} == {"format", "words", "pages", "dpi"}
    assert httpx.get(f"{server}/docs").status_code == 200


def test_multipart_base64_json_and_raw_uploads_agree(server: str, page_bytes: bytes) -> None:
    answer = httpx.post(f"{server}/ocr", files={"file": ("img623.jpg", page_bytes, "image/jpeg")}, timeout=60)
    assert answer.status_code == 200, answer.text
    record = answer.json()
    assert set(record) == {"image", "results"} and record["image"] == "img623.jpg"
    assert "www.flavoursofiloilo.blogspot.com" in _texts(record)
    for line in record["results"]:
        assert set(line) == {"box", "text", "score"} and len(line["box"]) == 4 and 0.5 <= line["score"] <= 1
    encoded = base64.b64encode(page_bytes).decode()
    as_json = httpx.post(f"{server}/ocr", json={"image": encoded, "name": "page"}, timeout=60).json()
    assert as_json == {**record, "image": "page"}
    as_data_url = httpx.post(f"{server}/ocr", json={"image": f"data:image/jpeg;base64,{encoded}"}, timeout=60)
    assert as_data_url.json() == {**record, "image": "upload"}
    raw = httpx.post(f"{server}/ocr?format=json", content=page_bytes, timeout=60)
    assert raw.json() == {**record, "image": "upload"}


def _error(response: httpx.Response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["type"] == kind
    return body["error"]["message"]


def test_bad_inputs_get_a_json_error(server: str) -> None:
    message = _error(httpx.post(f"{server}/ocr", files={"file": ("x.png", b"not an image")}), 400, "image_decode_error")
    assert "x.png" in message
    _error(httpx.post(f"{server}/ocr", json={"image": "%%%"}), 400, "bad_request")
    _error(httpx.post(f"{server}/ocr", json={"picture": "AAAA"}), 400, "bad_request")
    _error(httpx.post(f"{server}/ocr", files={"upload": ("x.png", b"x")}), 400, "bad_request")
    assert "formats: json, text" in _error(httpx.post(f"{server}/ocr?format=xml", content=b"x"), 400, "bad_option")
    ok, png = cv2.imencode(".png", np.full((1001, 1000, 3), 255, np.uint8))  # small file, too many pixels
    assert ok and len(png) < MAX_UPLOAD_MB * 2**20
    message = _error(httpx.post(f"{server}/ocr", files={"file": ("big.png", png.tobytes())}), 400, "image_decode_error")
    assert "1001000 pixels is more than the limit of 1000000" in message


def test_uploads_over_the_limit_get_413(server: str) -> None:
    too_big = os.urandom(MAX_UPLOAD_MB * 2**20 + 1)
    message = _error(httpx.post(f"{server}/ocr", files={"file": ("big.jpg", too_big)}), 413, "upload_too_large")
    assert str(MAX_UPLOAD_MB * 2**20) in message

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is applied while the body streams in
        for _ in range(MAX_UPLOAD_MB * 4 + 1):
            yield b"\0" * 2**18

    _error(httpx.post(f"{server}/ocr", content=chunks()), 413, "upload_too_large")
    assert httpx.get(f"{server}/health").status_code == 200


def test_words_pages_and_formats(server: str, page_bytes: bytes, tmp_path: Path) -> None:
    with_words = httpx.post(f"{server}/ocr?words=true", content=page_bytes, timeout=60).json()
    plain = httpx.post(f"{server}/ocr", content=page_bytes, timeout=60).json()
    assert _texts(with_words) == _texts(plain)
    for line in with_words["results"]:
        assert "".join(word["text"] for word in line["words"]) == line["text"].replace(" ", "")
    # A two-page PDF (the same page twice): every page, or the one chosen, each with its page number.
    pdf_path = tmp_path / "two.pdf"
    picture = Image.open(io.BytesIO(page_bytes)).convert("RGB")
    picture.save(pdf_path, "PDF", resolution=72.0, save_all=True, append_images=[picture])
    document = httpx.post(f"{server}/ocr?dpi=72", files={"file": ("two.pdf", pdf_path.read_bytes())}, timeout=120)
    assert document.status_code == 200, document.text
    answer = document.json()
    assert answer["image"] == "two.pdf" and [page["page"] for page in answer["pages"]] == [1, 2]
    for page in answer["pages"]:  # the page re-rendered from the PDF: not the same pixels, the same text
        assert "www.flavoursofiloilo.blogspot.com" in [line["text"] for line in page["results"]]
    second = httpx.post(f"{server}/ocr?dpi=72&pages=2", content=pdf_path.read_bytes(), timeout=60).json()
    assert [page["page"] for page in second["pages"]] == [2]
    assert "pages='x'" in _error(httpx.post(f"{server}/ocr?pages=x", content=page_bytes), 400, "bad_option")
    # The other answer formats are the CLI's renderers.
    text = httpx.post(f"{server}/ocr?format=text", content=page_bytes, timeout=60)
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text.splitlines()[1:] == [f"{line['text']}\t{line['score']:.4f}" for line in plain["results"]]
    hocr = httpx.post(f"{server}/ocr?format=hocr", content=page_bytes, timeout=60)
    tree = ElementTree.fromstring(hocr.content)
    lines = [el for el in tree.iter() if el.get("class") == "ocr_line"]
    assert len(lines) == len(plain["results"])
    pdf = httpx.post(f"{server}/ocr?format=pdf", content=page_bytes, timeout=60)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")


def test_concurrent_requests_get_the_serial_results(server: str, page_bytes: bytes) -> None:
    other = shared_path("images", "imgs", "11.jpg").read_bytes()
    uploads = [("page.jpg", page_bytes), ("11.jpg", other), ("page2.jpg", page_bytes), ("11b.jpg", other)]

    def post(upload: tuple[str, bytes]) -> dict:
        response = httpx.post(f"{server}/ocr", files={"file": upload}, timeout=120)
        assert response.status_code == 200, response.text
        return response.json()

    serial = [post(upload) for upload in uploads]
    with ThreadPoolExecutor(len(uploads)) as pool:
        concurrent = list(pool.map(post, uploads))
    assert concurrent == serial
    assert len(serial[1]["results"]) > 5 and serial[1]["results"] == serial[3]["results"]



def test_the_server_keeps_serving_after_a_burst_of_bad_requests(server: str, page_bytes: bytes) -> None:
    bad = [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, b"%PDF-1.4 broken", b"GIF89a\x01"]

    def post_bad(data: bytes) -> int:
        return httpx.post(f"{server}/ocr", content=data, timeout=60).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(post_bad, bad * 4))
    assert set(statuses) == {400}
    good = httpx.post(f"{server}/ocr", files={"file": ("page.jpg", page_bytes)}, timeout=120)
    assert good.status_code == 200 and good.json()["results"]

def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if found := shutil.which(name):
            return found
    return None


def test_the_page_reads_a_sample_in_headless_chromium(server: str, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium binary on PATH (Debian: apt-get install chromium; .ci/run installs it)")
    page = httpx.get(f"{server}/")
    assert page.status_code == 200 and "<canvas" in page.text and "http" not in page.text.split("<script>")[1]
    # The browser's virtual time can run out before the server's answer arrives (a loaded machine): up to three
    # tries, each a fresh page load in a fresh profile, so that a browser that died leaves no lock behind (the
    # server answering is what is tested, not its speed).
    for attempt in range(3):
        command = [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                   f"--user-data-dir={tmp_path / f'profile{attempt}'}", "--virtual-time-budget=120000",
                   "--dump-dom", f"{server}/?sample"]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=240)
        dom = done.stdout
        if 'id="status" data-state="done"' in dom:
            break
    status = dom.split('id="status"', 1)[1][:200] if 'id="status"' in dom else dom[-2000:]
    assert 'id="status" data-state="done"' in dom, (status, done.stderr[-2000:])
    count = int(dom.split('id="lines" data-count="')[1].split('"')[0])
    assert count >= 2
    assert "HELLO WORLD" in dom.replace("HELLOWORLD", "HELLO WORLD")
