"""Datasets in the YouTube-VIS layout (YouTube-VIS 2019/2021, OVIS) and a synthetic generator.

Frames are uint8 RGB: numpy [T, H, W, 3] from `VideoDataset.frames`, torch [T, 3, H, W] from
`VideoDataset.frames_tensor`.
"""

from vis_bench.data.dataset import VideoDataset, load_dataset
from vis_bench.data.synthetic import (
    SyntheticSpec,
    ensure_synthetic_dataset,
    generate_dataset,
    generate_from_spec,
    split_paths,
    synthetic_spec,
)
from vis_bench.data.videos import Annotation, Category, Video
from vis_bench.data.ytvis_json import AnnotationFile, load_annotation_file
from vis_bench.formats.categories import (
    OVIS,
    SYNTHETIC,
    YTVIS_2019,
    YTVIS_2021,
    CategoryMapping,
    CategorySet,
    check_label_space,
    get_category_set,
    identify_dataset,
)

__all__ = [
    "OVIS",
    "SYNTHETIC",
    "YTVIS_2019",
    "YTVIS_2021",
    "Annotation",
    "AnnotationFile",
    "Category",
    "CategoryMapping",
    "CategorySet",
    "SyntheticSpec",
    "Video",
    "VideoDataset",
    "check_label_space",
    "ensure_synthetic_dataset",
    "generate_dataset",
    "generate_from_spec",
    "get_category_set",
    "identify_dataset",
    "load_annotation_file",
    "load_dataset",
    "split_paths",
    "synthetic_spec",
]
