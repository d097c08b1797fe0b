"""SeqFormer (Wu et al., ECCV 2022) re-implemented from the authors' code, wjf5203/SeqFormer."""
