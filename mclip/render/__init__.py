"""Drawing motions: stick-figure videos, GIFs, contact sheets, and pose images for CLIP.

Inputs are joint positions ``(T, 24, 3)`` float32 in metres, world frame **z-up**
(AMASS), 30 fps, SMPL joint order (``mclip.skeleton``). An upright person at rest
faces world -y and has their left side at world +x.

Two renderers live here:

* The **stick figure** (``render``, ``render_grid``, ``iter_frames``): a fixed
  perspective camera (``camera``), placed once for the whole motion in a 3/4 elevated
  view in front of the person, a ground grid, left limbs blue, right limbs orange, spine
  and head dark (``config``). Speed comes from doing everything that does not change per
  frame once (``figure``): the background (floor, grid, pelvis trajectory, caption,
  legend) is drawn a single time and quantised to a palette image; all frames' joints
  are projected in one numpy step; each frame is then a copy of the background plus ~70
  PIL draw calls with palette indices. ``writers`` turns frames into .mp4/.gif/.png.
* The **pose image** (``pose_images``): one frame as a shaded body-like figure (capsules
  per bone, a head sphere, a floor) seen by a fixed camera in front, for CLIP's image
  tower (the paper renders SMPL meshes in Blender), rasterised with numpy and a z-buffer.

Every file is written atomically (``mclip.atomic``).
"""
from .camera import Camera, facing_yaw, ground_height, head_centres, view_rotation
from .config import (CENTRE, HEAD_FILL, LEFT, OUTPUT_SUFFIXES, RIGHT, ProgressFn, RenderConfig,
                     check_joints, output_kind)
from .pose_images import PoseImageConfig, pose_image, pose_images
from .writers import gif_timing, iter_frames, render, render_grid, sheet_indices

__all__ = ["Camera", "facing_yaw", "ground_height", "head_centres", "view_rotation", "CENTRE",
           "HEAD_FILL", "LEFT", "OUTPUT_SUFFIXES", "RIGHT", "ProgressFn", "RenderConfig",
           "check_joints", "output_kind", "PoseImageConfig", "pose_image", "pose_images",
           "gif_timing", "iter_frames", "render", "render_grid", "sheet_indices"]
