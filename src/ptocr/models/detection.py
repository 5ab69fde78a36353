"""DB text detectors: backbone → FPN neck → DB head, returning the N×1×H×W probability map."""

from __future__ import annotations

from torch import nn

from .base import TaskModel
from .heads import DBHead, PFHeadLocal, RepDBHead
from .lkpan import LKPAN
from .mobilenetv3 import MobileNetV3Det
from .necks import DBFPN, RSEFPN
from .pphgnet import pphgnet_small
from .pphgnetv2 import pphgnetv2_b4
from .pplcnetv3 import PPLCNetV3
from .pplcnetv4 import PPLCNetV4
from .registry import register_architecture
from .replkfpn import RepLKFPN, RepLKPAN
from .resnet_vd import ResNetVd


class DBNet(TaskModel):
    """DB detector: backbone → FPN neck → DB head, returning the N×1×H×W probability map."""

    task = "det"
    example_input_shape = (1, 3, 64, 64)


def _db_net(backbone: nn.Module, neck: nn.Module, with_threshold: bool) -> DBNet:
    return DBNet(backbone, neck, DBHead(neck.out_channels, k=50, with_threshold=with_threshold))


def _mobilenetv3_dbfpn(with_squeeze_excite: bool, align_corners: bool, with_threshold: bool) -> DBNet:
    """MobileNetV3-large ×0.5 + DBFPN(96) + DBHead(k=50), as 2.x (no SE, floor up-sampling) or 1.x builds it."""
    backbone = MobileNetV3Det(scale=0.5, disable_se=not with_squeeze_excite)
    return _db_net(backbone, DBFPN(backbone.out_channels, 96, align_corners=align_corners), with_threshold)


def _resnetvd_dbfpn(layers: int, align_corners: bool, with_threshold: bool) -> DBNet:
    """ResNet-vd + DBFPN(256) + DBHead(k=50), with 2.x's or fluid's (aligned-corner) up-sampling."""
    backbone = ResNetVd(layers, det=True)
    return _db_net(backbone, DBFPN(backbone.out_channels, 256, align_corners=align_corners), with_threshold)


@register_architecture
def det_pplcnetv3_rsefpn_db(deploy: bool = False, with_threshold: bool = False) -> DBNet:
    """PP-OCRv4 mobile detector: PP-LCNetV3 ×0.75 + RSEFPN(96, shortcut) + DBHead(k=50)."""
    backbone = PPLCNetV3(scale=0.75, det=True, deploy=deploy)
    neck = RSEFPN(backbone.out_channels, 96, shortcut=True)
    return _db_net(backbone, neck, with_threshold)


# Families without re-parameterisable layers: `deploy` is accepted for a uniform builder signature and
# changes nothing.


@register_architecture
def det_mobilenetv3_dbfpn_db(deploy: bool = False, with_threshold: bool = False) -> DBNet:
    """ch_ppocr_mobile_v2.0 / PP-OCRv2 detector: MobileNetV3-large ×0.5 (no SE) + DBFPN(96) + DBHead(k=50)."""
    del deploy
    return _mobilenetv3_dbfpn(with_squeeze_excite=False, align_corners=False, with_threshold=with_threshold)


@register_architecture
def det_mobilenetv3_dbfpn_db_v1(deploy: bool = False, with_threshold: bool = False) -> DBNet:
    """ch_ppocr_mobile_v1.1 detector: the v2.0 network in PaddleOCR 1.x's fluid graph, whose neck up-samples
    with aligned corners (changing the map by up to 0.8 against v2.0's rule)."""
    del deploy
    return _mobilenetv3_dbfpn(with_squeeze_excite=False, align_corners=True, with_threshold=with_threshold)


@register_architecture
def det_mobilenetv3se_dbfpn_db_v1(deploy: bool = False, with_threshold: bool = False) -> DBNet:
    """v1.0 ch_det_mv3_db: as ch_ppocr_mobile_v1.1's detector with the backbone's squeeze-and-excite blocks."""
    del deploy
    return _mobilenetv3_dbfpn(with_squeeze_excite=True, align_corners=True, with_threshold=with_threshold)


@register_architecture
def det_mobilenetv3_rsefpn_db(deploy: bool = False, with_threshold: bool = False) -> DBNet:
    """PP-OCRv3 detector (ch, en, multilingual): MobileNetV3-large ×0.5 (no SE) + RSEFPN(96, shortcut) + DBHead."""
    del deploy
    backbone = MobileNetV3Det(scale=0.5, disable_se=True)
    neck = RSEFPN(backbone.out_channels, 96, shortcut=True)
    return _db_net(backbone, neck, with_threshold)


@register_architecture
def det_resnet18vd_dbfpn_db(deploy: bool = False, with_threshold: bool = False, layers: int = 18) -> DBNet:
    """ch_ppocr_server_v2.0 detector: ResNet18_vd + DBFPN(256) + DBHead(k=50). `layers=34` gives the
    deeper basic-block variant with the same neck and head.
    """
    del deploy
    return _resnetvd_dbfpn(layers, align_corners=False, with_threshold=with_threshold)


@register_architecture
def det_resnet18vd_dbfpn_db_v1(deploy: bool = False, with_threshold: bool = False) -> DBNet:
    """ch_ppocr_server_v1.1 detector: the v2.0 server network in PaddleOCR 1.x's fluid graph, whose neck
    up-samples with aligned corners."""
    del deploy
    return _resnetvd_dbfpn(18, align_corners=True, with_threshold=with_threshold)


@register_architecture
def det_resnet50vd_dbfpn_db_v1(deploy: bool = False, with_threshold: bool = False) -> DBNet:
    """v1.0 ch_det_r50_vd_db: ResNet50_vd + DBFPN(256, fluid's aligned-corner up-sampling) + DBHead(k=50)."""
    del deploy
    return _resnetvd_dbfpn(50, align_corners=True, with_threshold=with_threshold)


@register_architecture
def det_pphgnet_lkpan_pfhead(deploy: bool = False, with_threshold: bool = False) -> DBNet:
    """PP-OCRv4 server detector: PPHGNet_small (det) + LKPAN(256, IntraCL, large) + PFHeadLocal(k=50, large).

    Returns the refined `cbn_maps` (the inference program's output 0, which DB post-processing reads).
    PP-HGNet has no re-parameterisable layers, so `deploy` changes nothing.
    """
    del deploy
    backbone = pphgnet_small(det=True)
    neck = LKPAN(backbone.out_channels, 256, mode="large", intracl=True)
    return DBNet(backbone, neck, PFHeadLocal(neck.out_channels, k=50, mode="large", with_threshold=with_threshold))


# PP-OCRv6 (PaddleOCR 3.x): PP-LCNetV4 backbones whose published files fold every conv+BN pair, the neck's and
# the head's included.


def _pplcnetv4_replkfpn(size: str, out_channels: int, kernel: int, deploy: bool, with_threshold: bool) -> DBNet:
    backbone = PPLCNetV4(size, det=True, deploy=deploy)
    neck = RepLKFPN(backbone.out_channels, out_channels, kernel, shortcut=True, deploy=deploy)
    return DBNet(backbone, neck, RepDBHead(out_channels, k=50, with_threshold=with_threshold, deploy=deploy))


@register_architecture
def det_pplcnetv4_tiny_replkfpn_db(deploy: bool = False, with_threshold: bool = False) -> DBNet:
    """PP-OCRv6 tiny detector: PP-LCNetV4 tiny + RepLKFPN(64, dilated kernel 5, shortcut) + DBHead(k=50)."""
    return _pplcnetv4_replkfpn("tiny", 64, 5, deploy, with_threshold)


@register_architecture
def det_pplcnetv4_small_replkfpn_db(deploy: bool = False, with_threshold: bool = False) -> DBNet:
    """PP-OCRv6 small detector: PP-LCNetV4 small + RepLKFPN(96, dilated kernel 7, shortcut) + DBHead(k=50)."""
    return _pplcnetv4_replkfpn("small", 96, 7, deploy, with_threshold)


@register_architecture
def det_pplcnetv4_medium_replkpan_db(deploy: bool = False, with_threshold: bool = False) -> DBNet:
    """PP-OCRv6 medium detector: PP-LCNetV4 medium + RepLKPAN(256, IntraCL) + DBHead(k=50)."""
    backbone = PPLCNetV4("medium", det=True, deploy=deploy)
    neck = RepLKPAN(backbone.out_channels, 256, intracl=True, deploy=deploy)
    return DBNet(backbone, neck, RepDBHead(256, k=50, with_threshold=with_threshold, deploy=deploy))
@register_architecture
def det_pphgnetv2_lkpan_pfhead(deploy: bool = False, with_threshold: bool = False) -> DBNet:
    """PP-OCRv5 server detector: PPHGNetV2_B4 (det) + LKPAN(256, IntraCL, large) + PFHeadLocal(k=50, large).

    Returns the refined `cbn_maps`, as the v4 server detector does. PPHGNetV2_B4 has neither learnable affine
    blocks nor re-parameterisable layers, so `deploy` changes nothing.
    """
    del deploy
    backbone = pphgnetv2_b4(det=True)
    neck = LKPAN(backbone.out_channels, 256, mode="large", intracl=True)
    return DBNet(backbone, neck, PFHeadLocal(neck.out_channels, k=50, mode="large", with_threshold=with_threshold))
