"""The service answers every failure with a JSON error and goes on serving: an engine that fails unexpectedly
gives a 500, not a dropped connection (a fake engine, in process, through Starlette's test client)."""

from __future__ import annotations

from typing import Any, ClassVar

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="ptocr serve needs the serve extra (fastapi, uvicorn, python-multipart)")
pytest.importorskip("httpx", reason="the test client needs httpx (the test extra)")

from fastapi.testclient import TestClient

from ptocr.errors import ImageDecodeError, ModelFormatError
from ptocr.pipeline.results import OCRResult
from ptocr.serve import create_app


class _Engine:
    """Fails as told by the image's first pixel: 1 a bug (RuntimeError), 2 a model error, 3 an input the engine
    refuses; else no lines."""

    models: ClassVar[dict[str, None]] = {"det": None, "rec": None, "cls": None}

    def run(self, image: np.ndarray, words: bool = False) -> Any:
        if image[0, 0, 0] == 1:
            raise RuntimeError("an engine bug")
        if image[0, 0, 0] == 2:
            raise ModelFormatError("the recogniser's weights are damaged: run `ptocr models verify`")
        if image[0, 0, 0] == 3:
            raise ImageDecodeError("the image has more pixels than the engine's limit: send a smaller one")
        return OCRResult(lines=(), image_height=image.shape[0], image_width=image.shape[1])


def _png(first_pixel: int) -> bytes:
    image = np.full((8, 8, 3), 255, np.uint8)
    image[0, 0] = first_pixel
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def test_unexpected_engine_failures_are_json_500s_and_the_server_goes_on() -> None:
    client = TestClient(create_app(_Engine()), raise_server_exceptions=False)
    bug = client.post("/ocr", content=_png(1))
    assert bug.status_code == 500
    assert bug.json() == {"error": {"type": "internal_error",
                                    "message": "the server failed to read this upload (RuntimeError)"}}  # fmt: skip
    known = client.post("/ocr", content=_png(2))
    assert known.status_code == 500 and known.json()["error"]["type"] == "ModelFormatError"
    assert "ptocr models verify" in known.json()["error"]["message"]
    refused = client.post("/ocr", content=_png(3))
    assert refused.status_code == 400 and refused.json()["error"]["type"] == "image_decode_error"
    good = client.post("/ocr", content=_png(255))
    assert good.status_code == 200 and good.json() == {"image": "upload", "results": []}


def test_a_burst_of_bad_requests_leaves_the_server_serving() -> None:
    client = TestClient(create_app(_Engine()), raise_server_exceptions=False)
    bad: list[dict[str, Any]] = [
        {"content": b""},
        {"content": b"not an image"},
        {"content": b"\x89PNG\r\n\x1a\n" + b"\x00" * 20},
        {"json": {"image": "%%%"}},
        {"json": [1, 2]},
        {"content": b"{", "headers": {"content-type": "application/json"}},
        {"files": {"upload": ("x.png", b"x")}},
        {"content": _png(255), "params": {"format": "xml"}},
        {"content": _png(255), "params": {"pages": "0-"}},
        {"content": _png(255), "params": {"dpi": "9999"}},
    ]
    for _ in range(3):
        for request in bad:
            answer = client.post("/ocr", **request)
            assert 400 <= answer.status_code < 500, (request, answer.status_code, answer.text)
            error = answer.json()
            assert set(error) == {"error"} and set(error["error"]) == {"type", "message"}, error
    dpi = client.post("/ocr", content=_png(255), params={"dpi": "9999"})
    assert dpi.status_code == 422 and dpi.json()["error"]["message"].startswith("dpi: ")
    good = client.post("/ocr", content=_png(255))
    assert good.status_code == 200 and good.json()["results"] == []
