"""mclip: generate, edit and classify 3D human motion from language (after MotionCLIP).

Importing the package is cheap (no torch): ``Engine`` is imported from ``mclip.engine``
only when first accessed, so ``mclip --help`` stays fast.
"""
__version__ = "0.1.0"

__all__ = ["Engine", "__version__"]


def __getattr__(name: str):
    # PEP 562 lazy attribute: `from mclip import Engine` imports the engine (and torch)
    # on first use only.
    if name == "Engine":
        from .engine import Engine

        return Engine
    raise AttributeError(f"module 'mclip' has no attribute {name!r}")
