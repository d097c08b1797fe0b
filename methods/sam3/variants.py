"""SAM 3's released checkpoint: `sam3.pt` of the gated Hugging Face repository facebook/sam3
(`sam3/model_builder.py` downloads it; its `model` entry is the video model's state dict, 1465
keys, loaded strictly by name); the same repository's Transformers layout (`Sam3VideoModel`,
model.safetensors beside config.json) loads by name too (hf_layout.py). No checksum is
published. The weights are under the SAM License, which the repository asks a user to accept
before the file can be downloaded.

One file, named once per built-in label space (its category names are the prompts, and the
label space is checked against the dataset's). The README's "Video Results" table gives the
release's VIS figures on LV-VIS test (mAP) and BURST test (HOTA), whose label spaces are run
with `options.categories` set to their annotation files; every variant carries them."""

from __future__ import annotations

from vis_bench.api.variants import Licence, PretrainedVariant, PublishedResult, readme_source

REPOSITORY = "facebookresearch/sam3"
COMMIT = "99d02f28c8d34610ab35559b72642b01f10fdb1e"
PAPER = "Carion et al., SAM 3: Segment Anything with Concepts, arXiv:2511.16719"
HUB_REPOSITORY = "facebook/sam3"
RELEASE_FILE = "sam3.pt"
URL = f"https://huggingface.co/{HUB_REPOSITORY}/resolve/main/{RELEASE_FILE}"
#: how to get the file (the repository is gated: no anonymous download)
HOW_TO_OBTAIN = (
    f"accept the SAM License on https://huggingface.co/{HUB_REPOSITORY} (logged in), then "
    f"`huggingface-cli download {HUB_REPOSITORY} {RELEASE_FILE} --local-dir DIR` (with "
    "`huggingface-cli login` or HF_TOKEN) and give DIR/sam3.pt as the checkpoint; or take the "
    "repository's Transformers layout (`--include '*.json' '*.safetensors'` instead of "
    f"{RELEASE_FILE}: config.json beside model.safetensors) and give DIR"
)
LICENCE = Licence(
    code="SAM License",
    weights="SAM License (accepted on the Hub before download)",
    source=f"{REPOSITORY} LICENSE; huggingface.co/{HUB_REPOSITORY}",
)

#: variant -> (label space, its benchmark's name): one released file, prompted with the
#: category names of the dataset it is run on
LABEL_SPACES = {
    "ytvis2019": "YouTube-VIS 2019",
    "ytvis2021": "YouTube-VIS 2021",
    "ovis": "OVIS",
}


#: the README's video results of the released file (SAM 3 row): dataset -> (metric, value)
README_RESULTS = {"lvvis": ("mAP", 36.3), "burst": ("HOTA", 44.5)}


def _published(space: str) -> tuple[PublishedResult, ...]:
    source = readme_source(REPOSITORY, COMMIT, "README.md", "Video Results", PAPER)
    note = "the README's figure for the released file (SAM 3 row); prompts: the set's names"
    return tuple(
        PublishedResult(
            id=f"sam3-{space}-readme-{dataset}-test",
            dataset=dataset,
            split="test",
            metrics={metric: value},
            source=source,
            notes=note,
        )
        for dataset, (metric, value) in README_RESULTS.items()
    )


def _variant(space: str, benchmark: str) -> PretrainedVariant:
    return PretrainedVariant(
        name=f"sam3.{space}",
        summary=f"SAM 3's released video model, {benchmark}'s category names as prompts",
        options={"categories": space},
        dataset=space,
        label_space=space,
        resolution=1008,
        max_size=None,
        release_file=RELEASE_FILE,
        licence=LICENCE,
        published=_published(space),
        url=URL,
        training_data="SA-Co (the authors' data engine; the paper describes it)",
        notes=(
            f"gated download: {HOW_TO_OBTAIN}. The same file for every label space: the "
            "prompts are the category names. Frames become a 1008 x 1008 square (aspect ratio "
            "not kept). No checksum published."
        ),
        backbone="PE ViT-L+",
    )


VARIANTS = tuple(_variant(space, benchmark) for space, benchmark in LABEL_SPACES.items())
