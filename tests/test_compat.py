"""`ptocr.compat.PaddleOCR` returns PaddleOCR 2.7's structures with ptocr's results, and `ptocr-paddleocr`
prints PaddleOCR's log lines."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import ptocr
from ptocr import compat
from ptocr.compat import PaddleOCR
from ptocr.errors import UnsupportedOptionError

from .paths import shared_path


@pytest.fixture(scope="module")
def paddle() -> PaddleOCR:
    return PaddleOCR(use_angle_cls=True, lang="ch", show_log=False, use_gpu=False, enable_mkldnn=True, cpu_threads=1)


@pytest.fixture(scope="module")
def page() -> Path:
    return shared_path("images", "imgs_en", "img623.jpg")


def _is_box(box: object) -> bool:
    return (isinstance(box, list) and len(box) == 4
            and all(isinstance(p, list) and len(p) == 2 and all(type(v) is float for v in p) for p in box))  # fmt: skip


def test_det_and_rec_return_paddleocrs_nested_lists(paddle: PaddleOCR, page: Path) -> None:
    result = paddle.ocr(str(page), cls=True)
    assert isinstance(result, list) and len(result) == 1
    lines = result[0]
    assert isinstance(lines, list) and len(lines) > 3
    for line in lines:
        assert isinstance(line, list) and len(line) == 2 and _is_box(line[0])
        assert isinstance(line[1], tuple) and type(line[1][0]) is str and type(line[1][1]) is float
    native = paddle.engine.run(page)  # the same models and settings through ptocr's own API
    assert [line[1][0] for line in lines] == native.texts
    assert [line[0] for line in lines] == [[list(p) for p in line.box] for line in native.lines]
    assert [line[1][1] for line in lines] == [line.score for line in native.lines]
    # The same through the other inputs PaddleOCR takes: a BGR array and encoded bytes.
    assert paddle.ocr(cv2.imread(str(page)), cls=True) == result
    assert paddle.ocr(page.read_bytes(), cls=True) == result


def test_det_only_rec_only_and_cls_only(paddle: PaddleOCR, page: Path) -> None:
    boxes = paddle.ocr(str(page), rec=False)
    assert len(boxes) == 1 and all(_is_box(box) for box in boxes[0])
    assert boxes[0] == paddle.engine.detect(page).tolist()
    word = shared_path("images", "imgs_words_en", "word_10.png")
    recognized = paddle.ocr(str(word), det=False, cls=False)
    assert recognized == [paddle.engine.recognize(word)] and isinstance(recognized[0][0], tuple)
    assert recognized[0][0][0] == "PAIN"
    classified = paddle.ocr(str(word), det=False, rec=False)
    assert len(classified) == 1 and classified[0][0][0] == "0" and isinstance(classified[0][0], list)
    image = cv2.imread(str(word))
    assert paddle.ocr([image, image[::-1, ::-1].copy()], det=False) == [
        paddle.engine.recognize(image), paddle.engine.recognize(paddle.engine.upright(image[::-1, ::-1].copy())[0])
    ]  # fmt: skip
    with pytest.raises(ValueError, match="det must be False"):
        paddle.ocr([image], det=True)


def test_a_page_without_text_is_none(paddle: PaddleOCR) -> None:
    blank = np.full((96, 160, 3), 255, np.uint8)
    assert paddle.ocr(blank) == [None]
    assert paddle.ocr(blank, rec=False) == [None]


def test_transparency_inversion_and_binarisation(paddle: PaddleOCR) -> None:
    word = cv2.imread(str(shared_path("images", "imgs_words_en", "word_10.png")))
    # Black ink whose opacity is the darkness of the original: the text survives only if the alpha is used.
    bgra = np.dstack([np.zeros_like(word), 255 - cv2.cvtColor(word, cv2.COLOR_BGR2GRAY)])
    bgra[0, 0, 3] = 0
    ok, png = cv2.imencode(".png", bgra)
    assert ok
    on_white = compat._read(png.tobytes(), (255, 255, 255))
    assert on_white.shape == word.shape and on_white[0, 0].tolist() == [255, 255, 255]
    assert compat._read(bgra, (255, 0, 0))[0, 0].tolist() == [0, 0, 255]  # alpha_color is R, G, B
    [[(text, _)]] = paddle.ocr(png.tobytes(), det=False, cls=False)
    assert text == "PAIN"
    [[(inverted, _)]] = paddle.ocr(255 - word, det=False, cls=False, inv=True)
    assert inverted == "PAIN"
    binary = compat._prepare(word, inv=False, bin=True)
    assert set(np.unique(binary).tolist()) <= {0, 255}


def test_a_pdf_gives_one_entry_per_page(paddle: PaddleOCR, page: Path, tmp_path: Path, monkeypatch) -> None:
    picture = Image.open(page).convert("RGB")
    pdf = tmp_path / "two.pdf"
    picture.save(pdf, "PDF", resolution=72.0, save_all=True, append_images=[picture.rotate(180)])
    pages = paddle.ocr(str(pdf))
    assert len(pages) == 2 and all(entry for entry in pages)
    single = paddle.ocr(str(page))[0]
    assert {text for _, (text, _) in single} & {text for _, (text, _) in pages[0]}
    monkeypatch.setattr(paddle, "page_num", 1)  # PaddleOCR(page_num=1): the first page only
    assert len(paddle.ocr(str(pdf))) == 1
    with pytest.raises(UnsupportedOptionError, match="page_num"):
        PaddleOCR(page_num=-1)


def test_cls_without_the_classifier_warns() -> None:
    paddle = PaddleOCR(show_log=False, use_gpu=False)  # use_angle_cls defaults to False, as in PaddleOCR
    assert paddle.engine.models["cls"] is None
    with pytest.warns(UserWarning, match="angle classifier is not initialized"):
        assert paddle.ocr(np.full((48, 64, 3), 255, np.uint8), det=False, rec=False, cls=True) == []


def test_options_map_onto_settings_and_models(tmp_path: Path) -> None:
    store = ptocr.store.ModelStore()
    paddle = PaddleOCR(
        det_model_dir=str(store.path_any("ch_PP-OCRv4_det")), det_db_box_thresh=0.7, det_db_unclip_ratio=2.0,
        det_limit_side_len=736, det_limit_type="min", use_dilation=True, det_db_score_mode="slow",
        rec_batch_num=4, drop_score=0.3, cls_thresh=0.95, rec_image_shape="3, 48, 320", use_gpu=False,
    )  # fmt: skip
    settings = paddle.engine.settings
    assert (settings.det.box_thresh, settings.det.unclip_ratio, settings.det.limit_side_len) == (0.7, 2.0, 736)
    assert (settings.det.limit_type, settings.det.use_dilation, settings.det.score_mode) == ("min", True, "slow")
    assert (settings.rec.batch_size, settings.rec.image_shape, settings.drop_score) == (4, (3, 48, 320), 0.3)
    assert settings.cls.thresh == 0.95 and paddle.drop_score == 0.3
    assert paddle.engine.models == {"det": "ch_PP-OCRv4_det", "rec": "ch_PP-OCRv4_rec", "cls": None}
    with pytest.raises(UnsupportedOptionError, match="det_db_tresh"):
        PaddleOCR(det_db_tresh=0.5)
    with pytest.raises(UnsupportedOptionError, match="det_algorithm='EAST'"):
        PaddleOCR(det_algorithm="EAST")
    with pytest.raises(UnsupportedOptionError, match="must be a number in"):
        PaddleOCR(det_db_thresh=3)
    other = tmp_path / "dict.txt"
    other.write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(UnsupportedOptionError, match="differs from ch_PP-OCRv4_rec's dictionary"):
        PaddleOCR(rec_char_dict_path=str(other))
    same = tmp_path / "ppocr_keys_v1.txt"
    same.write_bytes((Path(ptocr.__file__).parent / "dicts" / "ppocr_keys_v1.txt").read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PaddleOCR(rec_char_dict_path=str(same), use_gpu=False)


def test_the_paddleocr_command_prints_its_log_lines(capsys, paddle: PaddleOCR, page: Path, tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(page.read_bytes())
    (folder / "b.png").write_bytes(b"not an image")
    (folder / "notes.txt").write_text("skipped")
    code = compat.main(["--image_dir", str(folder), "--use_angle_cls", "true", "--use_gpu", "false"])
    out, err = capsys.readouterr()
    assert code == 1
    lines = out.splitlines()
    assert all(line.startswith("[") and "] ppocr INFO: " in line for line in lines)
    messages = [line.split("] ppocr INFO: ", 1)[1] for line in lines]
    assert messages[0] == f"**********{folder / 'a.jpg'}**********"
    assert messages[-1] == f"**********{folder / 'b.png'}**********"
    printed = [ast.literal_eval(message) for message in messages[1:-1]]
    expected = paddle.ocr(str(page), cls=True)[0]
    # Boxes and texts exactly; scores to float32 noise (the two engines may run on different thread counts).
    assert [(box, text) for box, (text, _) in printed] == [(box, text) for box, (text, _) in expected]
    assert np.allclose([score for _, (_, score) in printed], [score for _, (_, score) in expected], atol=1e-4)
    assert "ppocr ERROR: error in loading image:" in err and "b.png" in err
    assert compat.main(["--image_dir", str(tmp_path / "none")]) == 1
    assert "no images find in" in capsys.readouterr().err
    assert compat.main(["--image_dir", str(page), "--det", "maybe", "--type", "structure"]) == 2
