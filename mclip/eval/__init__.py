"""Evaluation helpers behind `mclip eval` (the run itself is ``mclip.evaluate``).

- ``metrics``: pure metric functions on tensors (MPJPE, geodesic error, top-k,
  R-precision, interpolation smoothness);
- ``report``: the Rich table and the atomic JSON file.
"""
