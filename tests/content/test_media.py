"""The media check slot: an operator's ONNX model scores a WAV recording, within bounds.

The models are built here with onnx's helper API — the mean absolute amplitude, a
fixed-length input, a slow chain of products — and the recordings are written with
the standard library's ``wave``: the score is checked against the same quantity
computed with numpy from the samples written.
"""

from __future__ import annotations

import json
import math
import struct
import wave
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from typer.testing import CliRunner

from qalqan.cli.main import app
from qalqan.content.media import (
    SAMPLE_RATE,
    AudioError,
    InferenceTimeoutError,
    ModelError,
    UnsupportedMediaError,
    check_media,
    read_wav,
    report_path,
)


def _save(graph: onnx.GraphProto, path: Path, opset: int = 13) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def mean_abs_model(path: Path, shape: list[int | str] | None = None) -> Path:
    """score = mean(|waveform|) over the samples axis."""
    shape = shape or [1, "N"]
    graph = helper.make_graph(
        [
            helper.make_node("Abs", ["waveform"], ["magnitude"]),
            helper.make_node(
                "ReduceMean", ["magnitude"], ["score"], axes=[len(shape) - 1], keepdims=0
            ),
        ],
        "mean_abs",
        [helper.make_tensor_value_info("waveform", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, shape[:-1])],
    )
    return _save(graph, path)


def slow_model(path: Path, steps: int = 3_000) -> Path:
    """A chain of 400x400 matrix products of the first 160,000 samples: seconds of work (60 of
    them took 35 ms on a recent core, less than the time limits the tests set)."""
    nodes = [
        helper.make_node("Reshape", ["waveform", "square"], ["m0"]),
    ]
    for step in range(steps):
        nodes.append(helper.make_node("MatMul", [f"m{step}", "m0"], [f"p{step}"]))
        nodes.append(helper.make_node("Tanh", [f"p{step}"], [f"m{step + 1}"]))
    nodes.append(helper.make_node("ReduceMean", [f"m{steps}"], ["score"], keepdims=0))
    graph = helper.make_graph(
        nodes,
        "slow",
        [helper.make_tensor_value_info("waveform", TensorProto.FLOAT, [160_000])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, [])],
        initializer=[helper.make_tensor("square", TensorProto.INT64, [2], [400, 400])],
    )
    return _save(graph, path)


def write_wav(path: Path, samples: np.ndarray, *, rate: int = SAMPLE_RATE, channels: int = 1,
              width: int = 2) -> Path:  # fmt: skip
    scale = 2 ** (8 * width - 1) - 1
    ints = np.clip(np.round(samples * scale), -scale, scale).astype(np.int64)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        if width == 2:
            out.writeframes(ints.astype("<i2").tobytes())
        else:
            out.writeframes(b"".join(int(v).to_bytes(width, "little", signed=True) for v in ints))
    return path


def tone(seconds: float, amplitude: float = 0.5, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return amplitude * np.sin(2 * math.pi * hz * t)


# --- scores --------------------------------------------------------------------------------------


def test_the_score_is_the_models_output_on_the_decoded_waveform(tmp_path: Path) -> None:
    recording = write_wav(tmp_path / "call.wav", tone(1.5, amplitude=0.4))
    model = mean_abs_model(tmp_path / "mean_abs.onnx")
    result = check_media(recording, model)
    expected = float(np.mean(np.abs(read_wav(recording))))
    assert result.score == pytest.approx(expected, rel=1e-5)
    assert result.score == pytest.approx(0.4 * 2 / math.pi, rel=1e-2)  # a sine's mean |x|
    assert result.samples == int(1.5 * SAMPLE_RATE) and result.seconds == pytest.approx(1.5)
    assert result.reasons[0].key == "content.media.score"
    assert "Qalqan ships no deepfake detector" in result.reasons[0].detail
    assert "детектора дипфейков в Qalqan нет" in result.reasons[0].detail_in("ru")


def test_a_louder_recording_scores_higher(tmp_path: Path) -> None:
    model = mean_abs_model(tmp_path / "m.onnx")
    quiet = check_media(write_wav(tmp_path / "q.wav", tone(1, 0.1)), model).score
    loud = check_media(write_wav(tmp_path / "l.wav", tone(1, 0.8)), model).score
    assert loud > 4 * quiet


@pytest.mark.parametrize(("seconds", "fixed"), [(0.3, 16_000), (2.0, 16_000)])
def test_a_fixed_input_length_is_filled_by_repeating_or_cut(
    tmp_path: Path, seconds: float, fixed: int
) -> None:
    samples = np.concatenate([tone(seconds / 2, 0.2), tone(seconds / 2, 0.9)])
    recording = write_wav(tmp_path / "r.wav", samples)
    model = mean_abs_model(tmp_path / "fixed.onnx", [1, fixed])
    result = check_media(recording, model)
    waveform = read_wav(recording)
    fitted = np.tile(waveform, -(-fixed // waveform.size))[:fixed]
    assert result.samples == fixed
    assert result.score == pytest.approx(float(np.mean(np.abs(fitted))), rel=1e-5)


def test_stereo_24_bit_is_averaged_to_mono(tmp_path: Path) -> None:
    left, right = tone(1, 0.6), np.zeros(SAMPLE_RATE)
    interleaved = np.column_stack([left, right]).reshape(-1)
    recording = write_wav(tmp_path / "s.wav", interleaved, channels=2, width=3)
    waveform = read_wav(recording)
    assert waveform.size == SAMPLE_RATE
    assert float(np.max(np.abs(waveform))) == pytest.approx(0.3, rel=1e-3)


# --- refusals ------------------------------------------------------------------------------------


def test_video_other_rates_and_other_formats_are_refused_with_a_hint(tmp_path: Path) -> None:
    model = mean_abs_model(tmp_path / "m.onnx")
    video = tmp_path / "ad.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(100))
    with pytest.raises(UnsupportedMediaError, match="video is not supported"):
        check_media(video, model)
    with pytest.raises(UnsupportedMediaError, match=r"8000 Hz, not 16000.*ffmpeg"):
        check_media(write_wav(tmp_path / "8k.wav", tone(1), rate=8000), model)
    mp3 = tmp_path / "voice.wav"
    mp3.write_bytes(b"ID3\x03" + bytes(200))
    with pytest.raises(UnsupportedMediaError, match="not a WAV file"):
        check_media(mp3, model)
    floats = tmp_path / "float.wav"
    fmt = struct.pack("<HHIIHH", 3, 1, SAMPLE_RATE, SAMPLE_RATE * 4, 4, 32)
    floats.write_bytes(b"RIFF" + struct.pack("<I", 36 + 8) + b"WAVEfmt " + struct.pack("<I", 16)
                       + fmt + b"data" + struct.pack("<I", 8) + bytes(8))  # fmt: skip
    with pytest.raises(UnsupportedMediaError, match="not a PCM WAV"):
        check_media(floats, model)


def test_malformed_empty_huge_or_long_recordings_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = mean_abs_model(tmp_path / "m.onnx")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(write_wav(tmp_path / "full.wav", tone(1)).read_bytes()[:30])
    with pytest.raises(UnsupportedMediaError, match="not a PCM WAV"):
        check_media(cut, model)
    with pytest.raises(AudioError, match="no samples"):
        check_media(write_wav(tmp_path / "empty.wav", np.zeros(0)), model)
    sparse = tmp_path / "sparse.wav"
    with sparse.open("wb") as out:
        out.truncate(200 * 1024 * 1024)
    with pytest.raises(AudioError, match="more than the"):
        check_media(sparse, model)
    monkeypatch.setattr("qalqan.content.media.MAX_SECONDS", 2.0)
    with pytest.raises(AudioError, match="3 s long, more than 2"):
        check_media(write_wav(tmp_path / "long.wav", tone(3)), model)


def test_malformed_or_unfit_models_are_refused_with_the_reason(tmp_path: Path) -> None:
    recording = write_wav(tmp_path / "r.wav", tone(1))
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x08\x07not a protobuf at all" * 10)
    with pytest.raises(ModelError, match="not a usable ONNX model"):
        check_media(recording, garbage)
    two_inputs = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["score"])], "two",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, "N"]) for n in "ab"],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, [1, "N"])],
    )  # fmt: skip
    with pytest.raises(ModelError, match="takes 2 inputs"):
        check_media(recording, _save(two_inputs, tmp_path / "two.onnx"))
    with pytest.raises(ModelError, match=r"not \[N\], \[1, N\]"):
        check_media(recording, mean_abs_model(tmp_path / "batch.onnx", [4, "N"]))
    with pytest.raises(ModelError, match="more than 600 s"):
        check_media(recording, mean_abs_model(tmp_path / "huge.onnx", [1, 2**31 - 1]))
    with pytest.raises(ModelError, match="no index 3"):
        check_media(recording, mean_abs_model(tmp_path / "m.onnx"), score_index=3)


def test_a_model_that_outlasts_the_time_limit_is_stopped(tmp_path: Path) -> None:
    recording = write_wav(tmp_path / "r.wav", tone(10))
    model = slow_model(tmp_path / "slow.onnx")
    with pytest.raises(InferenceTimeoutError, match=r"did not finish within 0\.05 s"):
        check_media(recording, model, time_limit_s=0.05)


# --- the command line ----------------------------------------------------------------------------


def test_media_check_writes_a_report_beside_the_file_and_notes_a_case(tmp_path: Path) -> None:
    from qalqan.cases import SYSTEM, Role, case_view, open_case
    from qalqan.cases.store import CaseStore, upgrade
    from qalqan.cases.users import actor_named, add_user

    db = str(tmp_path / "cases.db")
    upgrade(db)
    with CaseStore.open(db) as store, store.transaction() as session:
        add_user(session, SYSTEM, name="aigerim", role=Role.ANALYST, password="a long passphrase 1")
        analyst = actor_named(session, "aigerim")
        assert analyst is not None
        case_id = open_case(session, analyst, "Deepfaked minister on a video ad").id
    recording = write_wav(tmp_path / "call.wav", tone(1, 0.5))
    model = mean_abs_model(tmp_path / "mean_abs.onnx")
    result = CliRunner().invoke(
        app, ["media", "check", str(recording), "--model", str(model), "--case", str(case_id),
              "--as", "aigerim", "--db", db, "--lang", "en"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(report_path(recording).read_text(encoding="utf-8"))
    assert report["score"] == pytest.approx(check_media(recording, model).score)
    assert report["model_sha256"] and report["input"] == "mono 16000 Hz float32 waveform"
    assert f"note 1 added to case {case_id}" in result.output
    with CaseStore.open(db) as store, store.transaction() as session:
        notes = case_view(session, analyst, case_id).notes
    assert len(notes) == 1 and "mean_abs.onnx scored call.wav" in notes[0].text
    assert str(report_path(recording)) in notes[0].text and notes[0].by == "aigerim"
    nobody = CliRunner().invoke(
        app, ["media", "check", str(recording), "--model", str(model), "--case", str(case_id),
              "--as", "nobody", "--db", db],
    )  # fmt: skip
    assert nobody.exit_code == 2 and "no account named 'nobody'" in nobody.output


def test_media_check_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    model = mean_abs_model(tmp_path / "m.onnx")
    video = tmp_path / "ad.mov"
    video.write_bytes(bytes(64))
    result = CliRunner().invoke(app, ["media", "check", str(video), "--model", str(model)])
    assert result.exit_code == 2 and "video is not supported" in result.output
    assert not report_path(video).exists()
    missing = CliRunner().invoke(
        app, ["media", "check", str(tmp_path / "none.wav"), "--model", str(model)]
    )
    assert missing.exit_code == 2 and "Traceback" not in missing.output
