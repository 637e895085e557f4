"""``python -m mclip ...`` and ``torchrun --nproc_per_node N -m mclip train ...``: the
same command line as ``mclip``."""
from .cli import main

if __name__ == "__main__":
    main()
