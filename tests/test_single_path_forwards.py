"""Model code reads in one sitting: no module method branches on the inference fast paths.

A fast path lives in a helper that takes the switches and runs the plain ops when its path is
off (`fused_ops.conv_bn`, `conv_block`, `add_residual`, `residual_ffn`), or in a helper that
takes one switch as an argument beside both forms (`MSDeformAttn._query_projections`). A
forward that tests `active_paths(...)` or `paths.<switch>` itself carries two versions of its
computation again; this finds one in any `nn.Module` subclass under `vis_bench.methods`.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap

import torch
from torch import nn

import vis_bench.methods
from vis_bench.methods.common.fast_paths import FastPaths

SWITCHES = frozenset(FastPaths.names())
#: the nodes that choose between two computations
BRANCHES = (ast.If, ast.IfExp, ast.While, ast.BoolOp, ast.comprehension, ast.Match)


def _tests_a_switch(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr in SWITCHES:
            return True
        if isinstance(sub, ast.Call) and getattr(sub.func, "id", None) == "active_paths":
            return True
    return False


def _condition(node: ast.AST) -> ast.AST | list[ast.expr]:
    if isinstance(node, ast.BoolOp):
        return node.values[:-1]  # the last operand is a value, not a condition
    if isinstance(node, ast.comprehension):
        return node.ifs
    if isinstance(node, ast.Match):
        return node.subject
    return node.test


def branches_on_paths(source: str) -> list[int]:
    """Line numbers in `source` (one function) where a branch tests a fast-path switch."""
    lines = []
    for node in ast.walk(ast.parse(textwrap.dedent(source))):
        if not isinstance(node, BRANCHES):
            continue
        condition = _condition(node)
        parts = condition if isinstance(condition, list) else [condition]
        if any(_tests_a_switch(part) for part in parts):
            lines.append(node.lineno)
    return lines


def _module_classes() -> list[type[nn.Module]]:
    classes = []
    for info in pkgutil.walk_packages(vis_bench.methods.__path__, "vis_bench.methods."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, nn.Module) and cls.__module__ == module.__name__:
                classes.append(cls)
    return classes


def test_the_check_finds_a_branch_on_the_paths():
    branched = """
    def forward(self, x):
        if active_paths(self).lean_linear:
            return linear(x, self.proj)
        paths = active_paths(self)
        y = self.a(x) if paths.fuse_conv else self.b(x)
        return paths.fold_bn and y
    """
    assert branches_on_paths(branched) == [3, 6, 7]
    single = """
    def forward(self, x):
        paths = active_paths(self)
        if x.dim() == 3:
            x = x[None]
        return add_residual(x, self.proj(x), paths, self.dropout)
    """
    assert branches_on_paths(single) == []


def test_no_module_method_branches_on_the_fast_paths():
    classes = _module_classes()
    names = {cls.__name__ for cls in classes}
    # the forwards issue 31 made single-path are among those checked
    assert {
        "MSDeformAttn",
        "DeformableTransformerEncoderLayer",
        "DeformableTransformerDecoderLayer",
        "MaskHeadSmallConv",
        "DeformableDETR",
        "MultiheadAttention",
        "EncoderLayer",
        "DecoderLayer",
        "MaskHead",
        "IFCNet",
        "MSSTSDecoderLayer",
        "Bottleneck",
    } <= names
    found = []
    for cls in classes:
        for name, member in vars(cls).items():
            if inspect.isfunction(member):
                lines = branches_on_paths(inspect.getsource(member))
                found += [f"{cls.__module__}.{cls.__qualname__}.{name} (+{n})" for n in lines]
    assert not found, "branch on the fast paths in: " + ", ".join(found)


def test_mssts_decoder_block_runs_in_its_layers_forward_not_in_a_hook():
    """MS-STS's decoder block is called by its layer's forward, not by a hook on a submodule."""
    from vis_bench.methods.families.seqformer.model import SeqFormerConfig
    from vis_bench.methods.mssts.paper import MSSTSDecoderLayer, build_mssts

    torch.manual_seed(0)
    config = dict(hidden_dim=32, dim_feedforward=64, enc_layers=1, dec_layers=2, num_queries=5)
    model = build_mssts(SeqFormerConfig.from_dict(dict(config, backbone=None)))
    layers = model.detr.transformer.decoder.layers
    assert all(type(layer) is MSSTSDecoderLayer for layer in layers)
    hooked = [
        name
        for name, module in model.named_modules()
        if module._forward_hooks or module._forward_pre_hooks
    ]
    assert hooked == []
