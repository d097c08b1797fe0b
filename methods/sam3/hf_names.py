"""The names of SAM 3's tensors in the authors' layout (`sam3.pt`, this method) and in Hugging
Face Transformers' `Sam3VideoModel`, paired in one table (`RULES`) that `hf_layout.py` reads
both ways. The facts are those of Transformers' `convert_sam3_video_to_hf.py` (in its
repository, not its wheel), checked against both full-size key lists in
tests/test_sam3_hf_layout.py.

A rule pairs two prefix templates: `{n}` and `{m}` stand for numbers (layers, norms), `{n+1}`
for Transformers' 1-based layer number, `{p}` for q, k or v (a fused projection split in
three). The first rule whose template starts a key names it; the rest of the key is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SAME, QKV, TRANSPOSE, CLS_ROW, ROWS = "same", "qkv", "transpose", "cls_row", "rows"


@dataclass(frozen=True)
class Rule:
    """One tensor family's names in both layouts (prefix templates) and how the values differ."""

    authors: str
    transformers: str
    kind: str = SAME


def _detector(authors: str, transformers: str, kind: str = SAME) -> Rule:
    return Rule("detector." + authors, "detector_model." + transformers, kind)


def _tracker(authors: str, transformers: str, kind: str = SAME) -> Rule:
    return Rule("tracker." + authors, "tracker_model." + transformers, kind)


def _on_detector(rules: Iterable[Rule]) -> list[Rule]:
    return [_detector(r.authors, r.transformers, r.kind) for r in rules]


def _on_tracker(rules: Iterable[Rule]) -> list[Rule]:
    return [_tracker(r.authors, r.transformers, r.kind) for r in rules]


def _necks() -> list[Rule]:
    """The detector's neck and the tracker's (`sam2_convs`), one scale ladder each."""
    rules = []
    for ours, theirs in (
        ("convs", "detector_model.vision_encoder.neck"),
        ("sam2_convs", "tracker_neck"),
    ):
        base = f"detector.backbone.vision_backbone.{ours}.{{n}}."
        level = f"{theirs}.fpn_layers.{{n}}."
        rules += [
            Rule(base + "dconv_2x2_1.", level + "scale_layers.2."),
            # read back, the first rule names both; `_level_zero_deconvolutions` renames level 0's
            Rule(base + "dconv_2x2.", level + "scale_layers.0."),
            Rule(base + "dconv_2x2_0.", level + "scale_layers.0."),
            Rule(base + "conv_1x1.", level + "proj1."),
            Rule(base + "conv_3x3.", level + "proj2."),
        ]
    return rules


def _attention(authors: str, transformers: str, fused: str, out: str = "o_proj") -> list[Rule]:
    """A fused-input attention (`in_proj_` or `qkv.`) and its output projection."""
    return [
        Rule(authors + fused, transformers + "{p}_proj.", QKV),
        Rule(authors + "out_proj.", transformers + out + "."),
    ]


def _three_layer_mlp(authors: str, transformers: str) -> list[Rule]:
    """SAM's 3-layer MLPs: Transformers names the first and last layers `proj_in`/`proj_out`."""
    return [
        Rule(authors + "layers.0.", transformers + "proj_in."),
        Rule(authors + "layers.1.", transformers + "layers.0."),
        Rule(authors + "layers.2.", transformers + "proj_out."),
    ]


def _fusion_layers(authors: str, transformers: str, cross: str) -> list[Rule]:
    """The geometry and DETR encoders' layers (self- and image cross-attention, MLP, norms)."""
    return [
        *_attention(f"{authors}.{{n}}.self_attn.", f"{transformers}.{{n}}.self_attn.", "in_proj_"),
        *_attention(f"{authors}.{{n}}.{cross}.", f"{transformers}.{{n}}.cross_attn.", "in_proj_"),
        Rule(f"{authors}.{{n}}.linear1.", f"{transformers}.{{n}}.mlp.fc1."),
        Rule(f"{authors}.{{n}}.linear2.", f"{transformers}.{{n}}.mlp.fc2."),
        Rule(f"{authors}.{{n}}.norm{{m}}.", f"{transformers}.{{n}}.layer_norm{{m}}."),
    ]


_TRUNK = "backbone.vision_backbone.trunk."
_VIT = "vision_encoder.backbone."
_CLIP = "backbone.language_backbone.encoder."
_HF_CLIP = "text_encoder.text_model."
_DEC = "transformer.decoder."
_MD = "sam_mask_decoder."

RULES: tuple[Rule, ...] = tuple(
    [
        # the ViT
        _detector(_TRUNK + "pos_embed", _VIT + "embeddings.position_embeddings", CLS_ROW),
        _detector(_TRUNK + "patch_embed.proj.", _VIT + "embeddings.patch_embeddings.projection."),
        _detector(_TRUNK + "ln_pre.", _VIT + "layer_norm."),
        _detector(_TRUNK + "blocks.{n}.attn.qkv.", _VIT + "layers.{n}.attention.{p}_proj.", QKV),
        _detector(_TRUNK + "blocks.{n}.attn.proj.", _VIT + "layers.{n}.attention.o_proj."),
        _detector(_TRUNK + "blocks.{n}.norm{m}.", _VIT + "layers.{n}.layer_norm{m}."),
        _detector(_TRUNK + "blocks.{n}.mlp.", _VIT + "layers.{n}.mlp."),
        *_necks(),
        # CLIP's text encoder and the resizer to the detector's width
        _detector(
            _CLIP + "positional_embedding", _HF_CLIP + "embeddings.position_embedding.weight"
        ),
        _detector(_CLIP + "text_projection", "text_encoder.text_projection.weight", TRANSPOSE),
        _detector(_CLIP + "token_embedding.", _HF_CLIP + "embeddings.token_embedding."),
        _detector(_CLIP + "ln_final.", _HF_CLIP + "final_layer_norm."),
        *_on_detector(
            _attention(
                _CLIP + "transformer.resblocks.{n}.attn.",
                _HF_CLIP + "encoder.layers.{n}.self_attn.",
                "in_proj_",
                out="out_proj",
            )
        ),
        _detector(
            _CLIP + "transformer.resblocks.{n}.ln_{m}.",
            _HF_CLIP + "encoder.layers.{n}.layer_norm{m}.",
        ),
        _detector(
            _CLIP + "transformer.resblocks.{n}.mlp.c_fc.", _HF_CLIP + "encoder.layers.{n}.mlp.fc1."
        ),
        _detector(
            _CLIP + "transformer.resblocks.{n}.mlp.c_proj.",
            _HF_CLIP + "encoder.layers.{n}.mlp.fc2.",
        ),
        _detector("backbone.language_backbone.resizer.", "text_projection."),
        # the geometry encoder (its CLS token and boxes; Transformers has no point layers)
        _detector("geometry_encoder.img_pre_norm.", "geometry_encoder.vision_layer_norm."),
        _detector("geometry_encoder.norm.", "geometry_encoder.prompt_layer_norm."),
        _detector("geometry_encoder.encode_norm.", "geometry_encoder.output_layer_norm."),
        *_on_detector(
            _fusion_layers("geometry_encoder.encode", "geometry_encoder.layers", "cross_attn_image")
        ),
        *[
            _detector(f"geometry_encoder.{name}.", f"geometry_encoder.{name}.")
            for name in (
                "label_embed",
                "cls_embed",
                "boxes_direct_project",
                "boxes_pool_project",
                "boxes_pos_enc_project",
                "final_proj",
            )
        ],
        # the DETR encoder and decoder
        *_on_detector(
            _fusion_layers("transformer.encoder.layers", "detr_encoder.layers", "cross_attn_image")
        ),
        *[
            _detector(r.authors, r.transformers, r.kind)
            for ours, theirs in (
                ("self_attn", "self_attn"),
                ("ca_text", "text_cross_attn"),
                ("cross_attn", "vision_cross_attn"),
            )
            for r in _attention(
                f"{_DEC}layers.{{n}}.{ours}.", f"detr_decoder.layers.{{n}}.{theirs}.", "in_proj_"
            )
        ],
        *[
            _detector(f"{_DEC}layers.{{n}}.{ours}.", f"detr_decoder.layers.{{n}}.{theirs}.")
            for ours, theirs in (
                ("norm1", "vision_cross_attn_layer_norm"),
                ("catext_norm", "text_cross_attn_layer_norm"),
                ("norm2", "self_attn_layer_norm"),
                ("norm3", "mlp_layer_norm"),
                ("linear1", "mlp.fc1"),
                ("linear2", "mlp.fc2"),
            )
        ],
        _detector(_DEC + "norm.", "detr_decoder.output_layer_norm."),
        _detector(_DEC + "presence_token_out_norm.", "detr_decoder.presence_layer_norm."),
        _detector(_DEC + "query_embed.", "detr_decoder.query_embed."),
        _detector(_DEC + "reference_points.", "detr_decoder.reference_points."),
        _detector(_DEC + "presence_token.", "detr_decoder.presence_token."),
        _detector(_DEC + "bbox_embed.layers.{n}.", "detr_decoder.box_head.layer{n+1}."),
        _detector(
            _DEC + "presence_token_head.layers.{n}.", "detr_decoder.presence_head.layer{n+1}."
        ),
        _detector(_DEC + "ref_point_head.layers.{n}.", "detr_decoder.ref_point_head.layer{n+1}."),
        _detector(_DEC + "boxRPB_embed_x.layers.{n}.", "detr_decoder.box_rpb_embed_x.layer{n+1}."),
        _detector(_DEC + "boxRPB_embed_y.layers.{n}.", "detr_decoder.box_rpb_embed_y.layer{n+1}."),
        # the segmentation head and the scoring
        _detector("segmentation_head.pixel_decoder.", "mask_decoder.pixel_decoder."),
        _detector("segmentation_head.mask_predictor.mask_embed.", "mask_decoder.mask_embedder."),
        _detector("segmentation_head.instance_seg_head.", "mask_decoder.instance_projection."),
        _detector("segmentation_head.semantic_seg_head.", "mask_decoder.semantic_projection."),
        *_on_detector(
            _attention(
                "segmentation_head.cross_attend_prompt.",
                "mask_decoder.prompt_cross_attn.",
                "in_proj_",
            )
        ),
        _detector("segmentation_head.cross_attn_norm.", "mask_decoder.prompt_cross_attn_norm."),
        _detector(
            "dot_prod_scoring.prompt_mlp.layers.{n}.", "dot_product_scoring.text_mlp.layer{n+1}."
        ),
        _detector(
            "dot_prod_scoring.prompt_mlp.out_norm.", "dot_product_scoring.text_mlp_out_norm."
        ),
        _detector("dot_prod_scoring.prompt_proj.", "dot_product_scoring.text_proj."),
        _detector("dot_prod_scoring.hs_proj.", "dot_product_scoring.query_proj."),
        # the tracker's own tensors
        _tracker("maskmem_tpos_enc", "memory_temporal_positional_encoding"),
        _tracker("no_mem_embed", "no_memory_embedding"),
        _tracker("no_mem_pos_enc", "no_memory_positional_encoding"),
        _tracker("no_obj_ptr", "no_object_pointer"),
        _tracker("no_obj_embed_spatial", "occlusion_spatial_embedding_parameter"),
        _tracker("mask_downsample.", "mask_downsample."),
        _tracker("obj_ptr_tpos_proj.", "temporal_positional_encoding_projection_layer."),
        *_on_tracker(_three_layer_mlp("obj_ptr_proj.", "object_pointer_proj.")),
        # memory attention
        _tracker(
            "transformer.encoder.layers.{n}.self_attn.out_proj.",
            "memory_attention.layers.{n}.self_attn.o_proj.",
        ),
        _tracker(
            "transformer.encoder.layers.{n}.cross_attn_image.out_proj.",
            "memory_attention.layers.{n}.cross_attn_image.o_proj.",
        ),
        _tracker(
            "transformer.encoder.layers.{n}.norm{m}.", "memory_attention.layers.{n}.layer_norm{m}."
        ),
        _tracker("transformer.encoder.layers.{n}.", "memory_attention.layers.{n}."),
        _tracker("transformer.encoder.norm.", "memory_attention.layer_norm."),
        # memory encoder
        *[
            _tracker(
                f"maskmem_backbone.mask_downsampler.encoder.{3 * i + j}.",
                f"memory_encoder.mask_downsampler.layers.{i}.{part}.",
            )
            for i in range(4)
            for j, part in enumerate(("conv", "layer_norm"))
        ],
        _tracker(
            "maskmem_backbone.mask_downsampler.encoder.12.",
            "memory_encoder.mask_downsampler.final_conv.",
        ),
        _tracker("maskmem_backbone.pix_feat_proj.", "memory_encoder.feature_projection."),
        _tracker("maskmem_backbone.out_proj.", "memory_encoder.projection."),
        _tracker(
            "maskmem_backbone.fuser.layers.{n}.gamma",
            "memory_encoder.memory_fuser.layers.{n}.scale",
        ),
        _tracker(
            "maskmem_backbone.fuser.layers.{n}.dwconv.",
            "memory_encoder.memory_fuser.layers.{n}.depthwise_conv.",
        ),
        _tracker(
            "maskmem_backbone.fuser.layers.{n}.norm.",
            "memory_encoder.memory_fuser.layers.{n}.layer_norm.",
        ),
        _tracker(
            "maskmem_backbone.fuser.layers.{n}.pwconv{m}.",
            "memory_encoder.memory_fuser.layers.{n}.pointwise_conv{m}.",
        ),
        # SAM's prompt encoder
        _tracker(
            "sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix",
            "prompt_encoder.shared_embedding.positional_embedding",
        ),
        _tracker(
            "sam_prompt_encoder.point_embeddings.{n}.weight",
            "prompt_encoder.point_embed.weight",
            ROWS,
        ),
        _tracker("sam_prompt_encoder.not_a_point_embed.", "prompt_encoder.not_a_point_embed."),
        _tracker("sam_prompt_encoder.no_mask_embed.", "prompt_encoder.no_mask_embed."),
        *[
            _tracker(
                f"sam_prompt_encoder.mask_downscaling.{i}.", f"prompt_encoder.mask_embed.{name}."
            )
            for i, name in (
                (0, "conv1"),
                (1, "layer_norm1"),
                (3, "conv2"),
                (4, "layer_norm2"),
                (6, "conv3"),
            )
        ],
        # SAM's mask decoder
        *[
            _tracker(
                f"{_MD}transformer.{part}.out_proj.", f"mask_decoder.transformer.{part}.o_proj."
            )
            for part in (
                "layers.{n}.self_attn",
                "layers.{n}.cross_attn_token_to_image",
                "layers.{n}.cross_attn_image_to_token",
                "final_attn_token_to_image",
            )
        ],
        _tracker(
            _MD + "transformer.layers.{n}.norm{m}.",
            "mask_decoder.transformer.layers.{n}.layer_norm{m}.",
        ),
        _tracker(
            _MD + "transformer.layers.{n}.mlp.lin1.",
            "mask_decoder.transformer.layers.{n}.mlp.proj_in.",
        ),
        _tracker(
            _MD + "transformer.layers.{n}.mlp.lin2.",
            "mask_decoder.transformer.layers.{n}.mlp.proj_out.",
        ),
        _tracker(
            _MD + "transformer.norm_final_attn.", "mask_decoder.transformer.layer_norm_final_attn."
        ),
        _tracker(_MD + "transformer.", "mask_decoder.transformer."),
        *[
            _tracker(f"{_MD}output_upscaling.{i}.", f"mask_decoder.upscale_{name}.")
            for i, name in ((0, "conv1"), (1, "layer_norm"), (3, "conv2"))
        ],
        *[
            _tracker(r.authors, r.transformers)
            for head in (
                "output_hypernetworks_mlps.{n}.",
                "iou_prediction_head.",
                "pred_obj_score_head.",
            )
            for r in _three_layer_mlp(_MD + head, "mask_decoder." + head)
        ],
        *[
            _tracker(f"{_MD}{name}.", f"mask_decoder.{name}.")
            for name in ("iou_token", "mask_tokens", "obj_score_token", "conv_s0", "conv_s1")
        ],
    ]
)


_PLACEHOLDER = re.compile(r"\{(n|m|p|n\+1)\}")
_CAPTURE = {"n": r"(?P<n>\d+)", "m": r"(?P<m>\d+)", "n+1": r"(?P<n1>\d+)", "p": r"(?P<p>[qkv])"}


def _pattern(template: str) -> re.Pattern[str]:
    """A template as a regular expression that captures its placeholders."""
    parts = _PLACEHOLDER.split(template)
    return re.compile(
        "".join(_CAPTURE[part] if i % 2 else re.escape(part) for i, part in enumerate(parts))
    )


def fill(template: str, values: Mapping[str, str]) -> str:
    """A template with its placeholders' values (Transformers' 1-based number from `n`)."""

    def one(found: re.Match[str]) -> str:
        name = found.group(1)
        return str(int(values["n"]) + 1) if name == "n+1" else values[name]

    return _PLACEHOLDER.sub(one, template)


#: the rules matched by the authors' names, and by Transformers'
AUTHORS = [(_pattern(r.authors), r) for r in RULES]
TRANSFORMERS = [(_pattern(r.transformers), r) for r in RULES]


def _values(match: re.Match[str]) -> dict[str, str]:
    values = {k: v for k, v in match.groupdict().items() if v is not None}
    if "n1" in values:
        values["n"] = str(int(values.pop("n1")) - 1)
    return values


def match(
    key: str, table: list[tuple[re.Pattern[str], Rule]]
) -> tuple[Rule, dict[str, str], str] | None:
    """The first rule whose template starts `key`, its placeholders' values and the rest."""
    for pattern, rule in table:
        found = pattern.match(key)
        if found:
            return rule, _values(found), key[found.end() :]
    return None
