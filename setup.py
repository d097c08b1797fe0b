"""Build step: the package layout and the one compiled piece of vis-bench (metadata: pyproject.toml).

The repository keeps `methods/` and `cuda_ops/` at its root (the layout users asked for), but they
install under the project's namespace as `vis_bench.methods` and `vis_bench.cuda_ops`, so no
generic top-level package named `methods` or `cuda_ops` lands in site-packages.

The same mapping ships data: `configs/` and the tiny models' weights (`results/checkpoints/`)
install as `vis_bench/shipped/configs` and `vis_bench/shipped/checkpoints` (their file patterns are
package data in pyproject.toml), so an installed vis-bench runs the embedded default from any
directory; `vis_bench.shipped` finds them (and keeps this table's copy, a test compares the two).

`vis_bench/eval/rle/_rle_kernel.c` decodes RLE masks and counts mask intersections in bulk for the
YouTube-VIS metric. It is optional: without a C compiler the install still succeeds and the
metric uses pycocotools for the same numbers, only slower.
"""

from pathlib import Path

from setuptools import Extension, find_packages, setup

HERE = Path(__file__).resolve().parent
#: folder at the repository root -> the installed package it becomes
NAMESPACED = {"methods": "vis_bench.methods", "cuda_ops": "vis_bench.cuda_ops"}
#: data folder of the repository -> the installed package folder that holds its files
SHIPPED = {
    "configs": "vis_bench.shipped.configs",
    "results/checkpoints": "vis_bench.shipped.checkpoints",
}


def _packages() -> list[str]:
    packages = find_packages(include=["vis_bench", "vis_bench.*"])
    for folder, package in NAMESPACED.items():
        packages += [
            package + name[len(folder) :] for name in find_packages(include=[folder, f"{folder}.*"])
        ]
    for folder, package in SHIPPED.items():  # data folders: every sub-folder is one too
        root = HERE / folder
        subfolders = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir())
        packages += [package] + [f"{package}.{sub.replace('/', '.')}" for sub in subfolders]
    return packages


setup(
    packages=_packages(),
    package_dir={package: folder for folder, package in {**NAMESPACED, **SHIPPED}.items()},
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
