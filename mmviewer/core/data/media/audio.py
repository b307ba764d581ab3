"""Audio: libsndfile for the formats it reads, PyAV for MP4/M4A (AAC, ALAC), both in-process.

Nothing else is tried. librosa's fallback (audioread) would hand any file libsndfile rejects to
an ``ffmpeg`` process that guesses the format from the content, which follows playlists to other
files and hosts; here a file is decoded by one of the two decoders we chose for its container,
or refused.
"""

from __future__ import annotations

import warnings

from mmviewer.core.data.media.common import Loaded, MediaError, mib, open_media, short_reason
from mmviewer.core.data.model import DEFAULT_LIMITS, LoadLimits, MediaRef

#: libsndfile major formats accepted (``soundfile.SoundFile.format``), whatever the file is named.
AUDIO_FORMATS = ("WAV", "WAVEX", "RF64", "W64", "FLAC", "OGG", "MP3", "AIFF", "AU", "CAF")
#: Codecs accepted inside an MP4/M4A container.
MP4_CODECS = ("aac", "alac", "mp3", "mp3float", "flac", "opus")


def load_audio(ref: MediaRef, limits: LoadLimits = DEFAULT_LIMITS) -> Loaded:
    """Decode to mono float32 at ``limits.audio_sample_rate``; returns ``(samples, rate)``.

    Clips longer than ``ref.max_seconds`` (or the limit) are cut, and the cut is noted. A clip
    whose first ``cap`` seconds would take more than ``limits.max_audio_bytes`` to decode (an
    absurd rate or channel count in a tiny file) is refused before decoding.
    """
    import numpy as np

    cap = ref.max_seconds or limits.max_audio_seconds
    fh, _ = open_media(ref.path, limits)
    with fh:
        head = fh.read(12)
        fh.seek(0)
        try:
            if head[4:8] == b"ftyp":  # an MP4 container (m4a): libsndfile cannot read it
                samples, rate, total = _decode_mp4(fh, cap, limits)
            else:
                samples, rate, total = _decode_sndfile(fh, cap, limits)
        except MediaError:
            raise
        except MemoryError:
            raise MediaError("out of memory while decoding the audio") from None
        except Exception as err:  # soundfile and PyAV each raise their own types
            # libsndfile's own words ("Format not recognised."), not "Error opening <fd 21>: ...".
            reason = getattr(err, "error_string", None) or short_reason(err)
            raise MediaError(f"not a readable audio file ({reason.rstrip('.')})") from None
    notes: list[str] = []
    if total is not None and total > cap:
        notes.append(f"audio is {total:.0f} s; only the first {cap:.0f} s were used")
    if samples.size == 0:
        raise MediaError("audio has no samples")
    if not np.isfinite(samples).all():
        samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
        notes.append("audio contained NaN/inf samples; replaced with 0")
    samples = _resample(samples, rate, limits.audio_sample_rate)
    return Loaded((samples.astype(np.float32, copy=False), limits.audio_sample_rate), notes)


def _check_budget(cap: float, rate: int, channels: int, frames: int | None, limits: LoadLimits) -> int:
    """How many frames to read; refuses a decode that would exceed the byte budget."""
    if rate <= 0 or channels <= 0:
        raise MediaError(f"not a readable audio file (sample rate {rate}, {channels} channels)")
    want = int(cap * rate)
    if frames is not None and frames >= 0:
        want = min(want, frames)
    need = want * channels * 4
    if need > limits.max_audio_bytes:
        raise MediaError(
            f"audio too large to decode safely ({channels} channels at {rate} Hz: {mib(need)} for "
            f"{cap:.0f} s, limit {mib(limits.max_audio_bytes)})"
        )
    return want


def _decode_sndfile(fh, cap: float, limits: LoadLimits):
    import numpy as np
    import soundfile as sf

    with sf.SoundFile(fh) as snd:
        if snd.format not in AUDIO_FORMATS:
            raise MediaError(f"audio format {snd.format} is not accepted "
                             f"(accepted: {', '.join(AUDIO_FORMATS)}, MP4/M4A)")
        rate, channels = int(snd.samplerate), int(snd.channels)
        frames = int(snd.frames) if snd.frames and snd.frames < 2**62 else None
        want = _check_budget(cap, rate, channels, frames, limits)
        data = snd.read(frames=want, dtype="float32", always_2d=True)
    total = frames / rate if frames else None
    samples = data[:, 0] if channels == 1 else data.mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(samples), rate, total


def _decode_mp4(fh, cap: float, limits: LoadLimits):
    """AAC/ALAC/... from an MP4 container, demuxer forced (no probing) and reading only from
    ``fh`` (no file or network protocol, external data references off)."""
    try:
        import av
    except ImportError:
        raise MediaError("MP4/M4A audio needs the 'av' package (pip install av)") from None
    import numpy as np

    with av.open(fh, mode="r", format="mp4", options={"enable_drefs": "0"}) as container:
        if not container.streams.audio:
            raise MediaError("not a readable audio file (the MP4 container has no audio track)")
        stream = container.streams.audio[0]
        codec = stream.codec_context.name
        if codec not in MP4_CODECS:
            raise MediaError(f"audio codec {codec} in MP4 is not accepted (accepted: AAC, ALAC, MP3, FLAC, Opus)")
        rate, channels = int(stream.codec_context.sample_rate), int(stream.codec_context.channels)
        want = _check_budget(cap, rate, channels, None, limits)
        total = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
        planar = av.AudioResampler(format="fltp", rate=rate)
        chunks, got = [], 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for frame in container.decode(stream):
                for out in planar.resample(frame):
                    block = out.to_ndarray()  # (channels, n) float32
                    chunks.append(block.mean(axis=0, dtype=np.float32) if block.shape[0] > 1 else block[0])
                    got += chunks[-1].shape[0]
                if got >= want:
                    break
    samples = np.concatenate(chunks)[:want] if chunks else np.zeros(0, np.float32)
    return samples, rate, total


def _resample(samples, rate: int, target: int):
    """librosa's default resampler (soxr, high quality), as ``librosa.load`` used it."""
    if rate == target:
        return samples
    import librosa

    return librosa.resample(samples, orig_sr=rate, target_sr=target, res_type="soxr_hq")
