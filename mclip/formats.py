"""The file types mclip reads and writes, by extension (lower case, with the dot).

Kept apart from the readers and writers so that the CLI can check an output name
before anything heavy (torch) is imported.
"""
MOTION_EXTS = (".npz", ".npy", ".bvh")   # SMPL motion (AMASS keys), joints, BVH
RENDER_EXTS = (".mp4", ".gif", ".png")   # video, looping GIF, contact sheet (mclip.render)
VIEWER_EXTS = (".html",)                 # the interactive 3D page (mclip.viewer)
# What shows a motion: as an application's output it comes with the .npz and .npy
SHOW_EXTS = RENDER_EXTS + VIEWER_EXTS
