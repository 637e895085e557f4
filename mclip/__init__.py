"""mclip: generate, edit and classify 3D human motion from language (after MotionCLIP).

The Python surface::

    from mclip import Engine, Motion, load_motion

    engine = Engine()                                   # the shipped weights
    walk = engine.text2motion(["a person walks forward"], seed=0)[0]
    walk.save("walk.bvh"); walk.render("walk.mp4")
    engine.classify(load_motion("clip.npz"), ["walk", "run", "jump"])

Importing the package is cheap (no torch): these names are imported from their modules
only when first accessed, so ``mclip --help`` stays fast.
"""
__version__ = "0.1.0"

# name -> module that defines it (PEP 562 lazy attributes)
_LAZY = {"Engine": "engine", "Motion": "motion_io", "load_motion": "motion_io",
         "load_joints": "motion_io", "save_motion": "motion_io", "MclipError": "errors"}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'mclip' has no attribute {name!r}")
