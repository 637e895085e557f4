"""Opening a viewer page in a headless Chromium: what it read back, and a screenshot.

Used by the tests and by ``tools/viewer_screenshot.py`` (docs/viewer.png). It needs a
Chromium on PATH (Debian: ``apt-get install chromium``) or ``$MCLIP_CHROMIUM``; WebGL
runs on the CPU (SwiftShader), so no GPU or display is needed. Each call starts a fresh
browser (about a second) with a throw-away profile and no network services.
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from contextlib import ExitStack
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
BUDGET_MS = 2000          # virtual time the page gets before its DOM and pixels are taken
_READBACK = re.compile(r'<pre id="mclip-readback"[^>]*?data-state="(\w+)"[^>]*>(.*?)</pre>', re.S)


def find_chromium() -> str | None:
    """``$MCLIP_CHROMIUM``, else the first Chromium-like browser on PATH, else None."""
    env = os.environ.get("MCLIP_CHROMIUM")
    if env:
        return env
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def capture(page: str | os.PathLike, frame: int | None = None, png: str | os.PathLike | None = None,
            size: tuple[int, int] = (1280, 720), budget_ms: int = BUDGET_MS,
            timeout: float = 120.0, view: tuple[float, float] | None = None) -> dict:
    """Open ``page`` (``?frame=N``: paused at frame N, set through the slider) in one
    headless Chromium run; write a ``size`` screenshot to ``png`` (atomically) when
    given, and return what the page wrote into ``#mclip-readback``: ``{"frame", "time",
    "motions": [{"name", "frame", "joints": 24 x [x, y, z]}]}``, the joint meshes' world
    positions read from the drawn scene, in z-up metres without the side-by-side offset.
    ``view``: the camera's (azimuth, elevation) in degrees instead of the page's own.
    RuntimeError when there is no browser, it fails, or the page reports an error."""
    exe = find_chromium()
    if exe is None:
        raise RuntimeError("no Chromium found (apt-get install chromium, or set $MCLIP_CHROMIUM)")
    params = ([] if frame is None else [f"frame={int(frame)}"]) + (
        [] if view is None else [f"azimuth={float(view[0]):g}", f"elevation={float(view[1]):g}"])
    url = Path(page).resolve().as_uri() + ("?" + "&".join(params) if params else "")
    with ExitStack() as stack:
        profile = stack.enter_context(tempfile.TemporaryDirectory(
            prefix="mclip-chromium-", ignore_cleanup_errors=True))
        shot = []
        if png is not None:
            from ..atomic import atomic_path

            tmp = stack.enter_context(atomic_path(png))
            tmp.unlink()                     # a screenshot not taken must be noticed
            shot = [f"--screenshot={tmp.resolve()}"]
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
               f"--user-data-dir={profile}", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
               f"--window-size={size[0]},{size[1]}", f"--virtual-time-budget={budget_ms}",
               *shot, "--dump-dom", url]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise RuntimeError(f"chromium exited {proc.returncode}: {proc.stderr[-1500:]}")
        if png is not None and not tmp.is_file():
            raise RuntimeError(f"chromium wrote no screenshot for {png}")
        m = _READBACK.search(proc.stdout)
        if m is None:
            raise RuntimeError("the page wrote no read-back (did its script run?)")
        data = json.loads(html.unescape(m.group(2)))
        if m.group(1) != "ready":
            raise RuntimeError(f"the page failed: {data.get('error')}")
    return data


__all__ = ["find_chromium", "capture", "BUDGET_MS"]
