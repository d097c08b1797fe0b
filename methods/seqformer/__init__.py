"""SeqFormer (Wu et al., ECCV 2022) re-implemented from the authors' code, wjf5203/SeqFormer.

The architecture lives in `methods/families/seqformer/` (MS-STS builds on it too); this package
registers the method."""
