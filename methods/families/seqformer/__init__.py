"""SeqFormer's architecture, inference and training (Wu et al., ECCV 2022), re-implemented from
the authors' code (wjf5203/SeqFormer): shared model parts, because the `seqformer` method and the
MS-STS methods (whose released code is a fork of SeqFormer's) are both built on them."""
