"""``ptocr serve``: OCR over HTTP (FastAPI + uvicorn), with a small web page to try it.

``POST /ocr`` takes an image as a multipart ``file`` field, as JSON ``{"image": "<base64>", "name": "…"}`` (a
``data:`` URL is accepted too), or as the raw request body, and answers the CLI's jsonl record
``{"image": name, "results": [{"box", "text", "score"}, …]}`` (a PDF or multi-page TIFF: ``{"image": name,
"pages": [{"page": n, "results": […]}, …]}``); ``format=`` text, tsv, markdown, hocr or pdf answers in that
format instead, ``words=true`` adds word boxes, ``pages=`` / ``dpi=`` choose and render a document's pages.
``GET /health``, ``GET /models``, the OpenAPI schema at ``/openapi.json`` (browsable at ``/docs``) and the page
at ``/`` complete it.

Concurrency: the models are loaded once, when the app is created, and shared by every request. Requests are
read on FastAPI's worker threads and the engine bounds how many compute at once (`OCR(max_concurrent=)`, 2 by
default: each run already uses the free cores, and every run at once adds its working memory); the others
wait their turn, while the event loop keeps accepting, reading and answering other requests (`/health`
answers while an OCR runs). The server adds no lock of its own: the engine's bound is the one place that
decides, for the service and for any other threads sharing the engine. Errors: every client error is a 4xx
with a JSON body ``{"error": {"type", "message"}}``; an unexpected failure in the engine is a 500 of the same
shape (the server logs its traceback), and the server goes on serving. Uploads are limited while they are
read: a body longer than ``max_upload_bytes`` is answered 413 before it is all received; an image of more than
``max_pixels`` pixels is refused (400) from its header, before it is decoded.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response

from .errors import ImageDecodeError, PtocrError
from .pipeline.image_io import DEFAULT_DPI, InputLimits, PageImage, iter_pages, parse_pages
from .pipeline.results import Document, Page
from .render.hocr import render_hocr
from .render.markdown import render_markdown
from .render.pdf import write_pdf
from .render.text import render_text
from .render.tsv import render_tsv
from .zoo import get_record

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class ServeLimits:
    """What one request may send: the body's bytes (413 beyond), the image's pixels and a document's pages (400
    beyond)."""

    max_upload_bytes: int = 20 * 2**20
    max_pixels: int = 50_000_000
    #: Pages of one PDF or TIFF read per request (400 beyond: choose some with `pages=`).
    max_pages: int = 50

    def __post_init__(self) -> None:
        if self.max_upload_bytes < 1 or self.max_pixels < 1 or self.max_pages < 1:
            raise ValueError(f"limits must be positive, got {self}")


class RequestError(Exception):
    """A request the server refuses: its HTTP status, a stable error type and a message for people."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def error_response(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


class _BodyTooLarge(Exception):
    pass


class UploadLimit:
    """ASGI middleware: 413 for a request body longer than ``max_bytes``, judged from Content-Length when the
    client sends one and otherwise while the body streams in (the handler has not answered yet, since it
    reads the whole body first)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"the upload is larger than the limit of {self.max_bytes} bytes"
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(413, "upload_too_large", message)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return event

        try:
            await self.app(scope, counting_receive, send)
        except _BodyTooLarge:
            await error_response(413, "upload_too_large", message)(scope, receive, send)


_REQUEST_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        "application/json": {
            "schema": {
                "type": "object", "required": ["image"],
                "properties": {
                    "image": {"type": "string", "description": "the encoded image file, base64 (or a data: URL)"},
                    "name": {"type": "string", "description": "echoed as `image` in the answer"},
                },
            }
        },
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
}  # fmt: skip

#: Answer formats of POST /ocr, with their media types: JSON (the CLI's jsonl record), the CLI's text formats,
#: hOCR and a searchable PDF.
FORMATS: dict[str, str] = {
    "json": "application/json",
    "text": "text/plain; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "markdown": "text/markdown; charset=utf-8",
    "hocr": "application/xhtml+xml; charset=utf-8",
    "pdf": "application/pdf",
}


def _json_answer(name: str, document: Document) -> dict[str, Any]:
    """One image: the CLI's jsonl record. A document (PDF, multi-page TIFF): its pages' records under `pages`."""

    def results(page: Page) -> list[dict[str, Any]]:
        return [line.to_dict() for line in page.lines]

    if len(document.pages) == 1 and document.pages[0].page_count is None:
        return {"image": name, "results": results(document.pages[0])}
    return {"image": name, "pages": [{"page": page.index + 1, "results": results(page)} for page in document.pages]}


def _answer(fmt: str, name: str, document: Document, images: list[np.ndarray]) -> Response:
    if fmt == "json":
        return JSONResponse(_json_answer(name, document))
    if fmt == "pdf":
        buffer = io.BytesIO()
        write_pdf(document, images, buffer)
        return Response(buffer.getvalue(), media_type=FORMATS[fmt])
    renderers = {"text": render_text, "tsv": render_tsv, "markdown": render_markdown, "hocr": render_hocr}
    return Response(renderers[fmt](document), media_type=FORMATS[fmt])


def _model_info(name: str | None) -> dict[str, Any] | None:
    if name is None:
        return None
    record = get_record(name)
    return {"name": record.name, "task": record.task, "version": record.version, "language": record.language,
            "size": record.size, "architecture": record.architecture, "description": record.description}  # fmt: skip


def create_app(engine: Any = None, limits: ServeLimits | None = None) -> FastAPI:
    """The FastAPI app. ``engine`` is an `ptocr.OCR` (shared by all requests), a callable returning one
    (called once, here), or None for ``OCR()``'s default models."""
    from .ocr import OCR

    limits = limits or ServeLimits()
    if engine is None:
        engine = OCR()
    elif not hasattr(engine, "run") and callable(engine):
        engine = engine()

    app = FastAPI(
        title="ptocr",
        description="PaddleOCR's PP-OCR models in PyTorch, over HTTP. POST an image to /ocr.",
        version=_version(),
    )
    app.add_middleware(UploadLimit, max_bytes=limits.max_upload_bytes)
    app.state.engine, app.state.limits = engine, limits

    @app.exception_handler(RequestError)
    async def refused(_request: Request, exc: RequestError) -> JSONResponse:
        return error_response(exc.status, exc.kind, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own answer is {"detail": [...]}: the same error shape as every other refusal instead.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', ())[1:]) or 'request'}: {error.get('msg', 'invalid')}"
            for error in exc.errors()
        )
        return error_response(422, "bad_option", problems or "invalid request")

    @app.exception_handler(Exception)
    async def failed(_request: Request, exc: Exception) -> JSONResponse:
        # A bug, or a failure the engine did not foresee: a JSON 500 rather than a bare one. Starlette re-raises
        # the exception once this answer is sent, so the server logs its traceback; the server goes on serving.
        return error_response(500, "internal_error", f"the server failed to read this upload ({type(exc).__name__})")

    def recognise(images: list[np.ndarray], words: bool) -> list[Any]:
        # The engine bounds its concurrent calls itself (OCR(max_concurrent=)); no lock here.
        return [engine.run(image, words=words) if words else engine.run(image) for image in images]

    @app.post(
        "/ocr",
        summary="Read the text in one image, or in the pages of a PDF or TIFF",
        openapi_extra={"requestBody": _REQUEST_BODY},
        responses={400: {"description": "undecodable image, too many pixels or pages, or a bad option"},
                   413: {"description": "upload larger than the limit"}},
    )  # fmt: skip
    async def ocr(
        request: Request,
        format: str = Query("json", description=f"answer format: {', '.join(FORMATS)}"),
        words: bool = Query(False, description="word boxes too (each line gains `words`)"),
        pages: str | None = Query(None, description="pages of a PDF or multi-page TIFF to read, e.g. 1-3,5"),
        dpi: int = Query(DEFAULT_DPI, ge=36, le=600, description="resolution PDF pages are rendered at"),
    ) -> Any:
        if format not in FORMATS:
            raise RequestError(400, "bad_option", f"unknown format {format!r}; formats: {', '.join(FORMATS)}")
        if pages is not None:
            try:
                parse_pages(pages)
            except ValueError as exc:
                raise RequestError(400, "bad_option", f"pages={pages!r}: {exc}") from exc
        name, data = await _read_upload(request)
        try:
            page_images = await run_in_threadpool(_decode_pages, data, pages, dpi, limits)
        except ImageDecodeError as exc:
            raise RequestError(400, "image_decode_error", str(exc).replace(f"<{len(data)} bytes>", name)) from exc
        images = [page.image for page in page_images]
        try:
            results = await run_in_threadpool(recognise, images, words)
        except ImageDecodeError as exc:  # the upload, refused by the engine's own limits: the client's to fix
            raise RequestError(400, "image_decode_error", str(exc)) from exc
        except PtocrError as exc:  # the models: the server's to fix
            raise RequestError(500, type(exc).__name__, str(exc)) from exc
        paged = data.startswith(b"%PDF-") or any(page.page_count > 1 for page in page_images)
        document = Document(
            pages=tuple(
                result.to_page(index=page.index, source=name, page_count=page.page_count if paged else None)
                for page, result in zip(page_images, results, strict=True)
            ),
            source=name,
        )
        return _answer(format, name, document, images)

    @app.get("/health", summary="Whether the server is up, with its models loaded")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/models", summary="The loaded det, rec and cls models (cls null when the classifier is off)")
    async def models() -> dict[str, Any]:
        return {task: _model_info(name) for task, name in engine.models.items()}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(resources.files("ptocr").joinpath("serve_page.html").read_text(encoding="utf-8"))

    return app


def _version() -> str:
    from . import __version__

    return __version__


def _decode_pages(data: bytes, pages: str | None, dpi: int, limits: ServeLimits) -> list[PageImage]:
    """The upload's pages (one for an image), refused past the pixel or page limit before any is rendered."""
    # The library's input policy with the service's limits, each refusal naming the server's setting. The upload
    # limit is the service's max_bytes: a body within it holds at most as many image bytes (base64 fewer).
    policy = InputLimits(
        max_bytes=limits.max_upload_bytes, max_pixels=limits.max_pixels, max_pages=limits.max_pages,
        bytes_advice="the server's limit: ptocr serve --max-upload-mb", pixels_advice="the server's limit: ptocr "
        "serve --max-pixels", pages_advice="choose some with pages=, or ptocr serve --max-pages raises the limit",
    )  # fmt: skip
    decoded = []
    for page in iter_pages(data, pages=pages, dpi=dpi, limits=policy):
        if len(decoded) == limits.max_pages:
            raise ImageDecodeError(f"<{len(data)} bytes> has more than {limits.max_pages} pages: choose some (pages=)")
        decoded.append(page)
    return decoded


async def _read_upload(request: Request) -> tuple[str, bytes]:
    """(name, encoded image bytes) of a multipart, JSON or raw upload."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise RequestError(400, "bad_request", "a multipart upload needs the image in a file field named `file`")
        return upload.filename or "upload", await upload.read()
    if content_type == "application/json":
        try:
            payload = json.loads(await request.body())
        except ValueError as exc:
            raise RequestError(400, "bad_request", f"the body is not valid JSON: {exc}") from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("image"), str):
            raise RequestError(400, "bad_request", 'JSON uploads are {"image": "<base64 of the file>", "name": …}')
        encoded = payload["image"]
        if encoded.startswith("data:"):
            encoded = encoded.partition(",")[2]
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RequestError(400, "bad_request", f"`image` is not valid base64: {exc}") from exc
        name = payload.get("name")
        return (name if isinstance(name, str) and name else "upload"), data
    data = await request.body()
    if not data:
        raise RequestError(400, "bad_request", 'no image: send a multipart `file`, JSON {"image": base64} or the file')
    return "upload", data


def serve(app: FastAPI, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Runs ``app`` with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="info")
