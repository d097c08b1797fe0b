"""MS-STS's published models (OmkarThawakar/MSSTS-VIS README, "Model zoo"): named, not runnable.

The model zoo's "Model" links of all three rows point at the repository page itself, so no
weights can be downloaded; only result files are published (docs/methods/mssts.md). The names exist so
that the published numbers sit beside `mssts` records (the paper's design, reconstructed), and a
config that names one is refused with this reason instead of failing on a missing file.
"""

from __future__ import annotations

from vis_bench.api.variants import Licence, PretrainedVariant, PublishedResult, readme_source

REPOSITORY = "OmkarThawakar/MSSTS-VIS"
COMMIT = "0ac5b470b6c2ffccb9b30097cd482c6aea494297"
PAPER = (
    "Video Instance Segmentation via Multi-scale Spatio-temporal Split Attention Transformer, "
    "arXiv 2203.13253 (ECCV 2022)"
)
LICENCE = Licence(
    code="none stated",
    weights="none released",
    source=f"{REPOSITORY} @ 82b2c1b: no LICENSE file; README 'Model zoo'",
)
UNSUPPORTED = (
    "the authors released no weights (the model zoo's model links point at the repository "
    "page), and the released code lacks the paper's attention (docs/methods/mssts.md); `mssts` is the "
    "paper's design reconstructed, `mssts-release` the released code"
)
NAMES = ("AP", "AP50", "AP75", "AR1", "AR10")


def _variant(key: str, backbone: str, row: str, metrics: tuple[float, ...]) -> PretrainedVariant:
    result = PublishedResult(
        id=f"mssts-{key}",
        dataset="ytvis2019",
        metrics=dict(zip(NAMES, metrics, strict=True)),
        source=readme_source(
            REPOSITORY,
            COMMIT,
            "README.md",
            f"Quatitative results on YouTube-VIS 2019 val. set ({row})",
            PAPER,
        ),
        training="not stated in the README",
        gpu="not stated",
    )
    return PretrainedVariant(
        name=f"mssts.{key.replace('-', '')}_ytvis19",
        summary=f"MS-STS {row.split('_')[-1]}, YouTube-VIS 2019 (published numbers only)",
        options={"backbone": backbone},
        dataset="ytvis2019",
        label_space="ytvis2019",
        resolution=360,
        max_size=None,
        release_file="none released",
        licence=LICENCE,
        unsupported=UNSUPPORTED,
        published=(result,),
    )


VARIANTS = (
    _variant("r50", "resnet50", "MS-STS_r50", (50.1, 73.2, 56.6, 46.1, 57.7)),
    _variant("r101", "resnet101", "MS-STS_r101", (51.1, 73.2, 59.0, 48.3, 58.7)),
    _variant("swin-l", "swin_l", "MS-STS_swin", (61.0, 85.2, 68.6, 54.7, 66.4)),
)
