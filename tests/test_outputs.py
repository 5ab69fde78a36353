"""The result tree (JSON round trip), every output format, --vis and the CLI's outputs, on real OCR results."""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import ptocr
from ptocr import cli
from ptocr.pipeline.image_io import load_image
from ptocr.pipeline.results import Document, Page, TextLine, Word
from ptocr.render import draw_page, render_hocr, render_markdown, render_text, render_tsv, write_pdf
from ptocr.render import pdf as pdf_module
from ptocr.render import vis as vis_module
from ptocr.render.tsv import COLUMNS

from .paths import shared_path

pdfium = pytest.importorskip("pypdfium2", reason="the PDF text layer is read back with pypdfium2")
pytest.importorskip("reportlab", reason="searchable PDFs are written with reportlab")

NAMES = ("ger_1.jpg", "00018069.jpg")  # Latin words with spaces; a Chinese table (one box per character)
XHTML = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture(scope="module")
def ocr() -> ptocr.OCR:
    return ptocr.OCR()


@pytest.fixture(scope="module")
def paths() -> list[str]:
    return [str(shared_path("images", "imgs", name)) for name in NAMES]


@pytest.fixture(scope="module")
def document(ocr: ptocr.OCR, paths: list[str]) -> Document:
    return Document.from_results([ocr.run(path, words=True) for path in paths], page_sources=paths)


def _synthetic() -> Document:
    line = TextLine(
        box=[[10, 10], [90, 10], [90, 30], [10, 30]], text="a <b> & c", score=0.9, angle="0",
        words=(Word([[10, 10], [20, 10], [20, 30], [10, 30]], "a", 0.8),
               Word([[30, 10], [60, 10], [60, 30], [30, 30]], "<b>", 0.95),
               Word([[70, 10], [75, 10], [75, 30], [70, 30]], "&", 0.5),
               Word([[80, 10], [90, 10], [90, 30], [80, 30]], "c", 0.99)),
    )  # fmt: skip
    second = TextLine(box=[[10, 40], [50, 40], [50, 60], [10, 60]], text="# 中文", score=0.5)
    return Document(pages=(Page(index=0, width=100, height=70, lines=(line, second), source="x.png"),))


def test_document_json_round_trip(document: Document) -> None:
    assert len(document.pages) == 2 and all(page.lines for page in document.pages)
    text = document.to_json()
    again = Document.from_json(text)
    assert again == document and again.to_json() == text
    page = json.loads(text)["pages"][1]
    assert set(page) == {"index", "width", "height", "source", "lines"}
    assert (page["width"], page["height"], page["source"]) == (430, 267, document.pages[1].source)
    first = page["lines"][0]
    assert set(first) == {"box", "text", "score", "angle", "words"} and first["angle"] in ("0", "180")
    # The line's own dictionary stays PaddleOCR's layout, with words only when asked for.
    plain = TextLine(box=first["box"], text="x", score=0.5, angle="0")
    assert set(plain.to_dict()) == {"box", "text", "score"}
    assert "仁" not in text and "代号" in text  # non-ASCII kept as is


def test_text_markdown_tsv_of_a_synthetic_document() -> None:
    document = _synthetic()
    assert render_text(document) == "x.png\na <b> & c\t0.9000\n# 中文\t0.5000\n"
    assert render_markdown(document) == "## x.png\n\na \\<b\\> & c\n\n\\# 中文\n"
    rows = [row.split("\t") for row in render_tsv(document).splitlines()]
    assert rows[0] == list(COLUMNS)
    assert COLUMNS[6:] == ("left", "top", "width", "height", "conf", "text")
    assert rows[1] == ["1", "1", "0", "0", "0", "0", "0", "0", "100", "70", "-1", ""]
    words = [row for row in rows if row[0] == "5"]
    assert [row[11] for row in words] == ["a", "<b>", "&", "c", "# 中文"]  # no word boxes: the line is a word
    assert words[1][6:11] == ["30", "10", "30", "20", "95.00"]
    assert [row[4] for row in rows if row[0] == "4"] == ["1", "2"]


def _hocr_tree(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0')
    return ET.fromstring(text.encode("utf-8"))


def _bbox(element: ET.Element) -> list[int]:
    match = re.search(r"bbox (\d+) (\d+) (\d+) (\d+)", element.get("title", ""))
    assert match, element.get("title")
    return [int(value) for value in match.groups()]


def test_hocr_is_xhtml_with_pages_lines_and_words(document: Document) -> None:
    root = _hocr_tree(render_hocr(document))
    metas = {meta.get("name"): meta.get("content") for meta in root.iter(f"{XHTML}meta")}
    assert metas["ocr-system"].startswith("ptocr ") and "ocrx_word" in metas["ocr-capabilities"]
    pages = [div for div in root.iter(f"{XHTML}div") if div.get("class") == "ocr_page"]
    assert len(pages) == 2
    for number, (element, page) in enumerate(zip(pages, document.pages, strict=True)):
        assert element.get("title") == f'image "{page.source}"; bbox 0 0 {page.width} {page.height}; ppageno {number}'
        lines = [span for span in element.iter(f"{XHTML}span") if span.get("class") == "ocr_line"]
        assert len(lines) == len(page.lines)
        for span, line in zip(lines, page.lines, strict=True):
            xs, ys = [x for x, _ in line.box], [y for _, y in line.box]
            left, top, right, bottom = _bbox(span)
            assert abs(left - min(xs)) < 1 and abs(top - min(ys)) < 1 and abs(right - max(xs)) < 1
            assert abs(bottom - max(ys)) < 1
            words = [word for word in span if word.get("class") == "ocrx_word"]
            assert [word.text for word in words] == [word.text for word in line.words]
            assert "".join(span.itertext()) == line.text  # spaces between Latin words, none between CJK ones
            for word in words:
                assert re.search(r"; x_wconf \d+$", word.get("title", ""))
                w_left, w_top, w_right, w_bottom = _bbox(word)
                assert left - 1 <= w_left <= w_right <= right + 1 and top - 1 <= w_top <= w_bottom <= bottom + 1
    synthetic = _hocr_tree(render_hocr(_synthetic()))
    assert [span.text for span in synthetic.iter(f"{XHTML}span") if span.get("class") == "ocrx_word"][1] == "<b>"


def _pdf_text(path: Path) -> list[str]:
    document = pdfium.PdfDocument(str(path))
    try:
        return [document[index].get_textpage().get_text_range() for index in range(len(document))]
    finally:
        document.close()


def _in_order(extracted: str, lines: list[str]) -> bool:
    squeezed = re.sub(r"\s+", "", extracted)
    position = 0
    for line in lines:
        found = squeezed.find(re.sub(r"\s+", "", line), position)
        if found < 0:
            return False
        position = found + len(re.sub(r"\s+", "", line))
    return True


def test_searchable_pdf_text_layer(document: Document, paths: list[str], tmp_path: Path) -> None:
    target = tmp_path / "out.pdf"
    write_pdf(document, [load_image(path) for path in paths], target)
    texts = _pdf_text(target)
    assert len(texts) == 2
    for text, page in zip(texts, document.pages, strict=True):
        assert _in_order(text, [line.text for line in page.lines]), text
    pdf = pdfium.PdfDocument(str(target))
    try:
        assert pdf[0].get_size() == (360.0, 270.0)  # 72 dpi: one point per pixel
    finally:
        pdf.close()


def test_searchable_pdf_without_a_system_cjk_font(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pdf_module, "font_candidates", lambda patterns: [])
    pdf_module.unicode_font.cache_clear()
    try:
        assert pdf_module.unicode_font() == "STSong-Light"
        write_pdf(_synthetic(), [np.full((70, 100, 3), 255, np.uint8)], tmp_path / "cid.pdf")
    finally:
        pdf_module.unicode_font.cache_clear()
    assert _in_order(_pdf_text(tmp_path / "cid.pdf")[0], ["a <b> & c", "# 中文"])


def test_vis_draws_boxes_and_text_side_by_side(document: Document, paths: list[str], monkeypatch) -> None:
    image = load_image(paths[0])
    picture = draw_page(image, document.pages[0])
    assert picture.size == (image.shape[1] * 2, image.shape[0])
    right = np.asarray(picture)[:, image.shape[1] :]
    x0, y0, x1, y1 = (int(v) for v in (*document.pages[0].lines[0].box[0], *document.pages[0].lines[0].box[2]))
    assert (right[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2] < 128).any()  # text drawn inside the first box
    assert (right[:5, :5] == 255).all()  # and nothing where there is no line
    monkeypatch.setattr(vis_module, "font_candidates", lambda patterns: [])
    vis_module.find_font.cache_clear()
    try:
        fallback = vis_module.find_font()
        assert fallback.path is None and "built-in" in fallback.describe()
        assert draw_page(image, document.pages[0], fallback).size == picture.size
    finally:
        vis_module.find_font.cache_clear()


@pytest.fixture
def shared_engine(ocr: ptocr.OCR, monkeypatch: pytest.MonkeyPatch) -> ptocr.OCR:
    monkeypatch.setattr(ptocr, "OCR", lambda **kwargs: ocr)  # one engine for every CLI call of the module
    return ocr


def test_cli_formats_words_output_and_vis(shared_engine, paths, document, tmp_path, capsys) -> None:
    assert cli.main([*paths, "--words", "-q"]) == 0
    records = [json.loads(row) for row in capsys.readouterr().out.splitlines()]
    assert [record["image"] for record in records] == paths
    first = records[0]["results"][0]
    assert set(first) == {"box", "text", "score", "words"}
    assert set(first["words"][0]) == {"box", "text", "score"} and len(first["words"][0]["box"]) == 4

    assert cli.main([*paths, "--format", "hocr", "-o", str(tmp_path / "all.hocr"), "--words"]) == 0
    root = _hocr_tree((tmp_path / "all.hocr").read_text(encoding="utf-8"))
    assert len([div for div in root.iter(f"{XHTML}div") if div.get("class") == "ocr_page"]) == 2

    assert cli.main([*paths, "--format", "pdf", "-o", str(tmp_path / "all.pdf"), "--vis", str(tmp_path / "vis")]) == 0
    texts = _pdf_text(tmp_path / "all.pdf")
    for text, page in zip(texts, document.pages, strict=True):
        assert _in_order(text, [line.text for line in page.lines])
    assert sorted(p.name for p in (tmp_path / "vis").iterdir()) == ["00018069.png", "ger_1.png"]
    assert capsys.readouterr().err.startswith("ptocr: --vis font: ")

    folder = tmp_path / "each"
    for fmt, suffix in (("tsv", ".tsv"), ("markdown", ".md"), ("text", ".txt"), ("pdf", ".pdf")):
        assert cli.main([*paths, "--format", fmt, "-o", f"{folder}/", "-q"]) == 0
        assert (folder / f"ger_1{suffix}").is_file() and (folder / f"00018069{suffix}").is_file()
    markdown = (folder / "00018069.md").read_text(encoding="utf-8")
    assert markdown.startswith("## ") and "00018069.jpg\n\n代号\n\n" in markdown
    assert (folder / "ger_1.tsv").read_text(encoding="utf-8").startswith("level\tpage_num")
    assert capsys.readouterr().err == ""


def test_cli_failed_inputs_with_the_new_formats(shared_engine, paths, tmp_path, capsys) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    target = tmp_path / "out.pdf"
    code = cli.main([str(bad), paths[0], str(tmp_path / "missing.jpg"), "--format", "pdf", "-o", str(target)])
    err = capsys.readouterr().err.splitlines()
    assert code == 1 and len(err) == 2 and all(line.startswith("ptocr: error: ") for line in err)
    assert len(_pdf_text(target)) == 1  # the readable image is still there
    code = cli.main([str(bad), paths[0], "--format", "tsv"])
    out, err = capsys.readouterr()
    assert code == 1 and err.count("ptocr: error:") == 1 and out.startswith("level\tpage_num")
    assert cli.main([paths[0], "--format", "pdf"]) == 2  # a PDF needs -o
    assert "give -o FILE.pdf" in capsys.readouterr().err


def test_a_progress_bar_only_on_a_terminal_and_without_quiet(shared_engine, paths, capsys, monkeypatch) -> None:
    assert cli.main([*paths, "--format", "text"]) == 0
    assert capsys.readouterr().err == ""  # stderr is not a terminal here: no bar
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert cli.main([*paths, "--format", "text"]) == 0
    assert "2/2" in capsys.readouterr().err  # tqdm's count of pages read
    assert cli.main([*paths, "--format", "text", "-q"]) == 0
    assert capsys.readouterr().err == ""
