"""The media check slot: an operator's ONNX model scores a recording; no detector ships.

Deepfaked voices of officials and bank staff are part of the lure. Qalqan ships
**no deepfake or anti-spoofing detector**: it gives a slot where an operator plugs
one in, exported to ONNX (an AASIST or RawNet2 anti-spoofing model, say), runs it
on a recording and keeps the score, with its model and file, as a reason.

The model's contract, checked before it runs:

* one input, a float32 tensor holding a **mono 16 kHz waveform** in [-1, 1], of
  shape ``[N]``, ``[1, N]`` or ``[1, 1, N]``. When ``N`` is fixed by the model
  (AASIST takes 64,600 samples, about 4 s), a longer recording is cut to its
  first ``N`` samples and a shorter one repeated until it fills them, as AASIST's
  own evaluation does; when ``N`` is free, the whole recording goes in;
* its first output holds the score: one number, or ``score_index`` picks one of
  several (a two-class model's column). What the score means — which end says
  "synthetic" — is the model's, and its documentation's, to say.

Audio is read as **PCM WAV** with the standard library's :mod:`wave` (8, 16, 24 or
32-bit integer samples; several channels are averaged to one). Other rates than
16 kHz are refused rather than resampled (``ffmpeg -i in -ac 1 -ar 16000 out.wav``
makes one), and so is **video**: no frame model is supported; give its sound
track as WAV. Float WAV, MP3, OGG are refused with the same hint.

Every cost an outsider can drive is bounded: the file's size and duration, the
model's size, and the inference time (onnxruntime's terminate flag stops a run
that outlasts ``time_limit_s``; one thread). Malformed files and models are
refused with :class:`MediaError` saying which and why.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from qalqan.domain.messages import Reason
from qalqan.errors import QalqanError

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_MODEL_BYTES",
    "MAX_SECONDS",
    "SAMPLE_RATE",
    "AudioError",
    "InferenceTimeoutError",
    "MediaError",
    "MediaScore",
    "ModelError",
    "UnsupportedMediaError",
    "check_media",
    "read_wav",
    "report_path",
    "write_report",
]

SAMPLE_RATE: Final = 16_000
MAX_FILE_BYTES: Final = 64 * 1024 * 1024
"""The largest recording read: 64 MiB (over half an hour of 16-bit 16 kHz mono)."""
MAX_SECONDS: Final = 600.0
"""The longest recording scored: ten minutes."""
MAX_MODEL_BYTES: Final = 512 * 1024 * 1024
"""The largest model loaded (AASIST is about 1 MB; wav2vec-based models a few hundred)."""
TIME_LIMIT_S: Final = 60.0
"""Inference time allowed by default."""
VIDEO: Final = frozenset({".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".3gp", ".flv"})
_HINT: Final = "give a PCM WAV, mono 16 kHz (ffmpeg -i FILE -ac 1 -ar 16000 out.wav)"
_MEANING: Final = "as the model's documentation defines it; Qalqan ships no deepfake detector"


class MediaError(QalqanError):
    """A recording or a model that cannot be used; the message names the file and why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class UnsupportedMediaError(MediaError):
    """Video, or audio in a format other than PCM WAV at 16 kHz."""


class AudioError(MediaError):
    """A WAV file that is malformed, too large or too long."""


class ModelError(MediaError):
    """A model that is too large, not ONNX, or not of the contract."""


class InferenceTimeoutError(MediaError):
    """The model did not finish within the time limit."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaScore:
    """A model's score of one recording, with what it was and how it was run."""

    file: Path
    model: Path
    model_sha256: str
    score: float
    seconds: float
    """The recording's duration."""
    samples: int
    """Samples the model was given (after cutting or repeating to its input)."""
    inference_s: float
    reasons: tuple[Reason, ...]

    def as_data(self) -> dict[str, object]:
        return {
            "file": str(self.file),
            "model": str(self.model),
            "model_sha256": self.model_sha256,
            "score": self.score,
            "seconds": round(self.seconds, 3),
            "samples": self.samples,
            "inference_s": round(self.inference_s, 3),
            "input": f"mono {SAMPLE_RATE} Hz float32 waveform",
            "meaning": _MEANING,
            "reasons": [reason.as_data() for reason in self.reasons],
        }


def read_wav(path: Path) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The mono 16 kHz waveform of a PCM WAV file, as float32 in [-1, 1]."""
    if path.suffix.lower() in VIDEO:
        raise UnsupportedMediaError(
            path, f"video is not supported (no frame model); {_HINT} from its sound track"
        )
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise AudioError(path, f"{size:,} bytes, more than the {MAX_FILE_BYTES:,} read")
    with path.open("rb") as stream:
        head = stream.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise UnsupportedMediaError(path, f"not a WAV file; {_HINT}")
    try:
        with wave.open(str(path), "rb") as audio:
            rate, channels, width = audio.getframerate(), audio.getnchannels(), audio.getsampwidth()
            frames = audio.getnframes()
            if rate != SAMPLE_RATE:
                raise UnsupportedMediaError(path, f"sampled at {rate} Hz, not 16000; {_HINT}")
            if frames / rate > MAX_SECONDS:
                raise AudioError(path, f"{frames / rate:.0f} s long, more than {MAX_SECONDS:.0f}")
            data = audio.readframes(min(frames, int(MAX_SECONDS * rate)))
    except (wave.Error, EOFError) as exc:
        raise UnsupportedMediaError(path, f"not a PCM WAV file ({exc}); {_HINT}") from None
    return _samples(path, data, channels, width)


def _samples(
    path: Path, data: bytes, channels: int, width: int
) -> np.ndarray[Any, np.dtype[np.float32]]:
    usable = len(data) - len(data) % (channels * width)
    raw = np.frombuffer(data[:usable], dtype=np.uint8)
    if width == 1:
        values = (raw.astype(np.float32) - 128.0) / 128.0
    elif width in (2, 4):
        ints = raw.view("<i2" if width == 2 else "<i4")
        values = ints.astype(np.float32) / float(2 ** (8 * width - 1))
    elif width == 3:
        triples = raw.reshape(-1, 3).astype(np.int32)
        ints = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        values = ints.astype(np.float32) / float(1 << 23)
    else:
        raise UnsupportedMediaError(path, f"{8 * width}-bit samples; {_HINT}")
    if values.size == 0:
        raise AudioError(path, "holds no samples")
    mono = values.reshape(-1, channels).mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(mono, dtype=np.float32)


def check_media(
    file: Path, model: Path, *, time_limit_s: float = TIME_LIMIT_S, score_index: int = 0
) -> MediaScore:
    """Run the operator's ONNX ``model`` on the recording ``file`` and return its score."""
    waveform = read_wav(file)
    blob = _model_bytes(model)
    session = _session(model, blob)
    name, shape = _input_of(model, session)
    fitted = _fit(waveform, shape[-1])
    feed = fitted.reshape([1] * (len(shape) - 1) + [fitted.size])
    started = time.perf_counter()
    outputs = _run(model, session, name, feed, time_limit_s)
    took = time.perf_counter() - started
    score = _score(model, outputs, score_index)
    seconds = waveform.size / SAMPLE_RATE
    reason = Reason.said("content.media.score", 0.0, "content.media.score", model=model.name,
                         file=file.name, score=f"{score:.4f}")  # fmt: skip
    return MediaScore(file=file, model=model, model_sha256=hashlib.sha256(blob).hexdigest(),
                      score=score, seconds=seconds, samples=int(fitted.size), inference_s=took,
                      reasons=(reason,))  # fmt: skip


def _model_bytes(model: Path) -> bytes:
    size = model.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise ModelError(model, f"{size:,} bytes, more than the {MAX_MODEL_BYTES:,} loaded")
    with model.open("rb") as stream:
        return stream.read(MAX_MODEL_BYTES + 1)


def _session(model: Path, blob: bytes) -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise ModelError(
            model, "onnxruntime is not installed (pip install 'qalqan[media]')"
        ) from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(blob, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own types for every bad model
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(model, f"not a usable ONNX model: {first[:300]}") from None


def _input_of(model: Path, session: Any) -> tuple[str, list[int | None]]:
    """The model's one input's name and shape (None for a free dimension)."""
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ModelError(model, f"takes {len(inputs)} inputs, not one waveform")
    given = inputs[0]
    if given.type != "tensor(float)":
        raise ModelError(model, f"input '{given.name}' is {given.type}, not tensor(float)")
    shape = [d if isinstance(d, int) and d > 0 else None for d in given.shape]
    if not 1 <= len(shape) <= 3 or any(d not in (None, 1) for d in shape[:-1]):
        raise ModelError(
            model, f"input '{given.name}' has shape {given.shape}, not [N], [1, N] or [1, 1, N]"
        )
    if shape[-1] is not None and shape[-1] > MAX_SECONDS * SAMPLE_RATE:
        raise ModelError(model, f"takes {shape[-1]:,} samples, more than {MAX_SECONDS:.0f} s")
    if not session.get_outputs():
        raise ModelError(model, "has no output")
    return str(given.name), shape


def _fit(
    waveform: np.ndarray[Any, np.dtype[np.float32]], size: int | None
) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The waveform cut or repeated to ``size`` samples (all of it when the model takes any)."""
    if size is None or waveform.size == size:
        return waveform
    if waveform.size > size:
        return waveform[:size]
    repeats = -(-size // waveform.size)
    return np.tile(waveform, repeats)[:size]


def _run(
    model: Path, session: Any, name: str, feed: np.ndarray[Any, Any], limit: float
) -> list[Any]:
    import onnxruntime

    options = onnxruntime.RunOptions()
    stopper = threading.Timer(limit, lambda: setattr(options, "terminate", True))
    stopper.start()
    try:
        outputs: list[Any] = session.run(None, {name: feed}, run_options=options)
    except Exception as exc:
        if options.terminate:
            raise InferenceTimeoutError(model, f"did not finish within {limit:g} s") from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(model, f"failed on this recording: {first[:300]}") from None
    finally:
        stopper.cancel()
    return outputs


def _score(model: Path, outputs: list[Any], index: int) -> float:
    values = np.asarray(outputs[0]).reshape(-1)
    if values.dtype.kind not in "fiu":
        raise ModelError(model, f"its first output is {values.dtype}, not numbers")
    if not 0 <= index < values.size:
        raise ModelError(model, f"its first output has {values.size} value(s), no index {index}")
    score = float(values[index])
    if not np.isfinite(score):
        raise ModelError(model, f"scored {score}, not a finite number")
    return score


def report_path(file: Path) -> Path:
    """Where a recording's report goes: beside it, ``call.wav`` → ``call.wav.media.json``."""
    return file.with_name(f"{file.name}.media.json")


def write_report(result: MediaScore) -> Path:
    """Write the score's JSON report beside the recording; its path."""
    path = report_path(result.file)
    path.write_text(
        json.dumps(result.as_data(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return path
