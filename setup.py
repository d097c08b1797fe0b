"""Build step: the package layout and the one compiled piece of vis-bench (metadata: pyproject.toml).

The repository keeps `methods/` and `cuda_ops/` at its root (the layout users asked for), but they
install under the project's namespace as `vis_bench.methods` and `vis_bench.cuda_ops`, so no
generic top-level package named `methods` or `cuda_ops` lands in site-packages.

`vis_bench/eval/rle/_rle_kernel.c` decodes RLE masks and counts mask intersections in bulk for the
YouTube-VIS metric. It is optional: without a C compiler the install still succeeds and the
metric uses pycocotools for the same numbers, only slower.
"""

from setuptools import Extension, find_packages, setup

#: folder at the repository root -> the installed package it becomes
NAMESPACED = {"methods": "vis_bench.methods", "cuda_ops": "vis_bench.cuda_ops"}


def _packages() -> list[str]:
    packages = find_packages(include=["vis_bench", "vis_bench.*"])
    for folder, package in NAMESPACED.items():
        packages += [
            package + name[len(folder) :] for name in find_packages(include=[folder, f"{folder}.*"])
        ]
    return packages


setup(
    packages=_packages(),
    package_dir={package: folder for folder, package in NAMESPACED.items()},
    ext_modules=[
        Extension(
            "vis_bench.eval.rle._rle_kernel",
            sources=[
                "vis_bench/eval/rle/_rle_kernel.c",
                "vis_bench/eval/rle/_count_text.c",
            ],
            depends=["vis_bench/eval/rle/_rle_kernel.h"],
            optional=True,
        )
    ],
)
