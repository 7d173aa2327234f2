"""harness.onnx_runtime: sessions over the decrypted buffer, refusals, thread sizing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from onnx_testlib import MLP_CARD, in_memory, write_mlp_dir

from harness.onnx_runtime import (
    MAX_EMBEDDED_MODEL_BYTES,
    OnnxModelError,
    available_cpus,
    build_session,
    external_tensors,
    intra_op_threads,
    load_model_dir,
)

X = np.linspace(-2, 2, 16, dtype=np.float32).reshape(2, 8)


@pytest.fixture()
def mlp_dir(tmp_path: Path) -> Path:
    return write_mlp_dir(tmp_path / "mlp")


def test_external_tensors_lists_what_the_packer_moved(mlp_dir: Path) -> None:
    tensors = {t.name: t for t in external_tensors((mlp_dir / "model.onnx").read_bytes())}
    assert sorted(tensors) == ["w1", "w2"]  # b1 (64 bytes) and b2 (12) stay embedded
    assert tensors["w1"].dims == (8, 16) and tensors["w1"].data_type == 1
    assert tensors["w1"].location == "model.onnx.data"
    assert (tensors["w1"].offset, tensors["w1"].length) == (0, 512)
    assert (tensors["w2"].offset, tensors["w2"].length) == (4096, 192)  # aligned to 4 KiB


def test_session_from_memory_matches_onnxruntime_from_disk(mlp_dir: Path) -> None:
    _buf, files = in_memory(mlp_dir)
    model = build_session(files)
    expected = ort.InferenceSession(str(mlp_dir / "model.onnx")).run(None, {"x": X})[0]
    got = model.run({"x": X})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    assert model.external_bytes == 512 + 192
    assert model.misaligned == ()


def test_session_reads_weights_in_place_not_a_copy(mlp_dir: Path) -> None:
    """Changing the decrypted bytes after the build changes the answer: no copy was taken."""
    buf, files = in_memory(mlp_dir)
    model = build_session(files)
    before = model.run({"x": X})[0].copy()
    data = files["model.onnx.data"]
    w2 = np.frombuffer(data, dtype=np.float32, count=48, offset=4096)
    np.frombuffer(buf, dtype=np.float32, count=48, offset=_offset(buf, data) + 4096)[:] = w2 * 2
    after = model.run({"x": X})[0]
    b2 = np.array([0.5, -0.25, 0.0], dtype=np.float32)
    np.testing.assert_allclose(after - b2, (before - b2) * 2, rtol=1e-5, atol=1e-5)


def _offset(buf: object, view: memoryview) -> int:
    base = np.frombuffer(buf, dtype=np.uint8, count=0).ctypes.data
    return np.frombuffer(view, dtype=np.uint8, count=0).ctypes.data - base


def test_missing_external_file_is_refused_without_reading_disk(
    mlp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(mlp_dir)  # the data file is right here on disk, and must not be used
    _buf, files = in_memory(mlp_dir)
    del files["model.onnx.data"]
    with pytest.raises(
        OnnxModelError,
        match=r"initializer 'w1' needs 'model.onnx.data', which is not in the model archive",
    ):
        build_session(files)


def _with_location(model_dir: Path, location: str, offset: int = 0) -> bytes:
    import onnx

    model = onnx.load(str(model_dir / "model.onnx"), load_external_data=False)
    for tensor in model.graph.initializer:
        if tensor.name == "w1":
            for entry in tensor.external_data:
                if entry.key == "location":
                    entry.value = location
                if entry.key == "offset":
                    entry.value = str(offset)
    return model.SerializeToString()


@pytest.mark.parametrize("location", ["../model.onnx.data", "/etc/passwd", ""])
def test_external_location_outside_the_archive_is_refused(mlp_dir: Path, location: str) -> None:
    _buf, files = in_memory(mlp_dir, {"model.onnx": _with_location(mlp_dir, location)})
    with pytest.raises(
        OnnxModelError,
        match=r"initializer 'w1' has external location .* expected a relative file name",
    ):
        build_session(files)


def test_external_range_past_the_file_is_refused(mlp_dir: Path) -> None:
    _buf, files = in_memory(
        mlp_dir, {"model.onnx": _with_location(mlp_dir, "model.onnx.data", 8000)}
    )
    with pytest.raises(
        OnnxModelError,
        match=r"initializer 'w1': bytes \[8000, 8512\) overrun 'model.onnx.data' \(4288 bytes\)",
    ):
        build_session(files)


def test_no_model_file_garbage_and_invalid_graphs_are_refused() -> None:
    from onnx import TensorProto, helper

    with pytest.raises(OnnxModelError, match=r"the model archive has no model\.onnx"):
        build_session({"model.json": memoryview(b"{}")})
    with pytest.raises(OnnxModelError, match=r"model\.onnx: unsupported protobuf wire type 7"):
        build_session({"model.onnx": memoryview(b"\x08\x07\x12\x03abc not a graph")})
    graph = helper.make_graph(
        [helper.make_node("NoSuchOp", ["x"], ["y"])],
        "bad",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    bad = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(
        OnnxModelError, match=r"model\.onnx: onnxruntime refused the model: .*NoSuchOp"
    ):
        build_session({"model.onnx": memoryview(bad.SerializeToString())})


def test_oversized_embedded_model_is_refused_before_parsing() -> None:
    big = memoryview(bytearray(MAX_EMBEDDED_MODEL_BYTES + 1))
    with pytest.raises(
        OnnxModelError, match=r"weights embedded; seal it with `python -m infra seal`"
    ):
        build_session({"model.onnx": big})


def test_load_model_dir_checks_the_card_against_the_graph(tmp_path: Path) -> None:
    card = dict(MLP_CARD, outputs=["probabilities"])
    _buf, files = in_memory(write_mlp_dir(tmp_path / "m", card))
    with pytest.raises(
        OnnxModelError, match=r"model.json.outputs: \['probabilities'\] but model.onnx has \['y'\]"
    ):
        load_model_dir(files)
    _buf, files = in_memory(write_mlp_dir(tmp_path / "m2"))
    served = load_model_dir(files, workers=1)
    assert (served.name, served.version) == ("tiny-mlp", "3")
    assert [(t.name, t.datatype, t.shape) for t in served.inputs] == [("x", "FP32", (-1, 8))]
    assert [(t.name, t.datatype, t.shape) for t in served.outputs] == [("y", "FP32", (-1, 3))]


def test_card_is_required(mlp_dir: Path) -> None:
    (mlp_dir / "model.json").unlink()
    _buf, files = in_memory(mlp_dir)
    with pytest.raises(
        OnnxModelError, match=r"the model archive has no model\.json at its top level"
    ):
        load_model_dir(files)


@pytest.mark.parametrize(
    ("workers", "cpus", "threads"), [(1, 4, 4), (2, 4, 2), (3, 4, 1), (4, 2, 1), (1, 1, 1)]
)
def test_threads_never_oversubscribe(workers: int, cpus: int, threads: int) -> None:
    assert intra_op_threads(workers, cpus) == threads
    assert threads * workers <= max(cpus, workers)


def test_zero_workers_is_an_error() -> None:
    with pytest.raises(ValueError, match="workers: 0, expected at least 1"):
        intra_op_threads(0, 4)


def test_cgroup_cpu_limit_caps_the_affinity(tmp_path: Path) -> None:
    import os

    affinity = len(os.sched_getaffinity(0))
    (tmp_path / "cpu.max").write_text("50000 100000\n")  # half a core -> 1 thread
    assert available_cpus(tmp_path) == 1
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert available_cpus(tmp_path) == affinity
    (tmp_path / "cpu.max").write_text(f"{(affinity + 8) * 100000} 100000\n")
    assert available_cpus(tmp_path) == affinity  # a limit above the cores does not add any


def test_session_uses_the_thread_count_and_no_spinning(mlp_dir: Path) -> None:
    _buf, files = in_memory(mlp_dir)
    model = build_session(files, threads=1)
    opts = model.session.get_session_options()
    assert opts.intra_op_num_threads == 1
    assert opts.inter_op_num_threads == 1
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert opts.get_session_config_entry("session.disable_prepacking") == "1"
    assert (
        json.dumps(
            opts.get_session_config_entry("session.use_external_initializer_file_buffers_directly")
        )
        == '"1"'
    )


def test_a_model_cannot_turn_profiling_on(tmp_path: Path) -> None:
    """onnxruntime reads `ort_config` from a model when ORT_LOAD_CONFIG_FROM_MODEL=1; profiling
    on writes onnxruntime_profile__*.json into the working directory (once committed by mistake)."""
    import subprocess
    import sys

    from onnx_testlib import mlp_model

    model = mlp_model()
    entry = model.metadata_props.add()
    entry.key = "ort_config"
    entry.value = json.dumps({"session_options": {"enable_profiling": 1}})
    directory = tmp_path / "model"
    directory.mkdir()
    (directory / "model.onnx").write_bytes(model.SerializeToString())
    (directory / "model.json").write_text(json.dumps(MLP_CARD))
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    script = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from harness.onnx_runtime import load_model_dir, read_model_dir\n"
        "served = load_model_dir(read_model_dir(Path(sys.argv[1])))\n"
        "served.run({'x': np.zeros((1, 8), dtype=np.float32)}, ['y'])\n"
    )
    repo = Path(__file__).resolve().parents[2]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo), "ORT_LOAD_CONFIG_FROM_MODEL": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(directory)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in workdir.iterdir()) == []
