"""The interactive 3D viewer: motions side by side in one self-contained HTML page.

``write_viewer([(name, joints (T, 24, 3) metres z-up, fps), ...], "view.html")``;
``mclip view a.npz b.bvh -o view.html`` and every application's ``-o x.html`` use it.
See ``html.py`` for the page, its coordinates and what it exposes to scripts, and
``browser.py`` for opening it in a headless Chromium (tests, screenshots).
"""
from .html import THREE_VERSION, check_motions, layout, viewer_html, write_viewer

__all__ = ["write_viewer", "viewer_html", "layout", "check_motions", "THREE_VERSION"]
