"""Build step for the one compiled piece of vis-bench (all metadata lives in pyproject.toml).

`vis_bench/eval/_rle_kernel.c` decodes RLE masks and counts mask intersections in bulk for the
YouTube-VIS metric. It is optional: without a C compiler the install still succeeds and the
metric uses pycocotools for the same numbers, only slower.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "vis_bench.eval._rle_kernel",
            sources=["vis_bench/eval/_rle_kernel.c"],
            optional=True,
        )
    ]
)
