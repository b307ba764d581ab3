"""The Hugging Face hub seen from mmviewer: its local cache, and whether it can be reached now.

Reading the cache needs no network (``huggingface_hub.try_to_load_from_cache``). Whether to try
the network is decided here, quickly: offline mode requested, ``HF_HUB_OFFLINE`` /
``TRANSFORMERS_OFFLINE`` set, or an HTTP HEAD to the endpoint that does not answer within 2 s
(remembered for a minute). This replaces the ~50 s of hub retries a missing download costs.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

_PROBE_TIMEOUT_S = 2.0
_PROBE_TTL_S = 60.0


def hf_cache_dir() -> str:
    """The Hugging Face hub cache folder, read from the environment now (not at import time)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.path.expanduser(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return os.path.join(os.path.expanduser(os.environ["HF_HOME"]), "hub")
    from huggingface_hub import constants

    return constants.HF_HUB_CACHE


def cached_file(repo: str, filename: str, cache: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo, filename, cache_dir=cache)
    except Exception:  # an invalid repo id or an unreadable cache: simply not cached
        return None
    return Path(found) if isinstance(found, str) and os.path.isfile(found) else None


def safe_alternatives(filename: str) -> tuple[str, ...]:
    """open_clip's ``_get_safe_alternatives``: the safetensors twin it tries first."""
    if filename == "open_clip_pytorch_model.bin":
        return ("open_clip_model.safetensors",)
    if filename.endswith((".bin", ".pth")):
        return (filename[:-4] + ".safetensors",)
    return ()


_probe_lock = threading.Lock()
_probe: dict[str, tuple[float, str | None]] = {}


def network_blocked(allow_download: bool = True) -> str | None:
    """Why the hub cannot be used now (a phrase), or None when downloading may proceed."""
    if not allow_download:
        return "offline mode was requested"
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"{var} is set"
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    host = endpoint.split("://", 1)[-1].split("/", 1)[0]
    with _probe_lock:
        when, reason = _probe.get(endpoint, (0.0, None))
        if time.monotonic() - when > _PROBE_TTL_S:
            reason = _head_within(endpoint, _PROBE_TIMEOUT_S)
            reason = reason and f"{host} is unreachable ({reason})"
            _probe[endpoint] = (time.monotonic(), reason)
    return reason


def _head_within(url: str, timeout: float) -> str | None:
    """HTTP HEAD ``url``; None when it answers (status < 400), else why not.

    An HTTP answer, not just a TCP connect: some networks accept every connection and then
    refuse or stall. Runs in a daemon thread so a hanging DNS lookup (which ignores socket
    timeouts) cannot hold the caller longer than ``timeout``.
    """
    import urllib.error
    import urllib.request

    result: list[str | None] = []

    def attempt() -> None:
        try:
            request = urllib.request.Request(url, method="HEAD")
            with urllib.request.urlopen(request, timeout=timeout) as response:
                result.append(None if response.status < 400 else f"HTTP {response.status}")
        except urllib.error.HTTPError as err:  # 405: a server that only refuses HEAD is up
            result.append(None if err.code == 405 else f"HTTP {err.code}")
        except urllib.error.URLError as err:
            reason = err.reason
            result.append(getattr(reason, "strerror", None) or str(reason))
        except Exception as err:  # socket timeouts, TLS errors, bad URLs
            result.append(str(err) or type(err).__name__)

    worker = threading.Thread(target=attempt, name="mmviewer-hub-probe", daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    return result[0] if result else f"no answer within {timeout:g} s"


def missing_message(what: str, reason: str, looked: list[str]) -> str:
    """The actionable text of :class:`WeightsUnavailable` for weights that are not local."""
    where = "; ".join(looked) or "nowhere local"
    return (
        f"CLIP weights for {what} are not available: {reason}, and they are not cached. "
        f"Looked in: {where}. To provide them: run once with network access so they are "
        "downloaded to the cache; or copy a pre-filled Hugging Face cache and point HF_HOME at "
        "it; or pass a local checkpoint file as the pretrained value (.pt/.pth/.bin/.safetensors "
        "for this architecture); or pass local-dir:/folder holding open_clip_config.json and the "
        "weights. Until then mmviewer uses its offline encoders (pixel features for images, "
        "TF-IDF for text)."
    )
