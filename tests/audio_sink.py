"""A private PulseAudio server with a null sink, so playback tests have a device to play into.

Test machines have no sound card. Without an output device the app turns playback off (see
``mmviewer.gui.preview.audio``), so the playback tests need a device: where ``pulseaudio`` is
installed (``.ci/run`` installs it) and no sound server answers, we start one that plays into
nothing. Its socket lives in a temporary folder and ``PULSE_SERVER`` points libpulse at it; it
must start before QtMultimedia first looks for devices.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path


def _answers(env: dict) -> bool:
    try:
        return subprocess.run(["pactl", "info"], env=env, capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def start_null_sink(folder: Path) -> subprocess.Popen | None:
    """Start the server and set ``PULSE_SERVER``; None when a server already answers or
    PulseAudio is not installed (playback tests then skip unless a real device exists)."""
    if not (shutil.which("pulseaudio") and shutil.which("pactl")) or _answers(dict(os.environ)):
        return None
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    socket = folder / "native"
    env = {**os.environ, "XDG_RUNTIME_DIR": str(folder), "HOME": str(folder),
           "PULSE_RUNTIME_PATH": str(folder), "PULSE_STATE_PATH": str(folder)}
    proc = subprocess.Popen(
        ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no", "-n",
         "--log-target=stderr", "--log-level=error",
         "-L", f"module-native-protocol-unix socket={socket} auth-anonymous=1",
         "-L", "module-null-sink sink_name=mmviewer_test_sink"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    client_env = {**os.environ, "PULSE_SERVER": f"unix:{socket}"}
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and proc.poll() is None:
        if socket.exists() and _answers(client_env):
            os.environ["PULSE_SERVER"] = client_env["PULSE_SERVER"]
            return proc
        time.sleep(0.1)
    stop(proc)
    return None


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
