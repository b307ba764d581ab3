"""Imported by the forkserver (see :mod:`mmviewer.core.runtime.processes`): import librosa and run the
audio features once, so forked workers inherit compiled numba code. Never raises."""

try:
    import numpy as _np

    from mmviewer.core.encoders.audio_features import logmel_summary, mfcc_summary

    _tone = _np.sin(_np.arange(4000, dtype=_np.float32) / 5.0).astype(_np.float32)
    mfcc_summary(_tone, 16000)
    logmel_summary(_tone, 16000)
except Exception:  # a broken audio stack must not stop layouts or other workers
    pass
