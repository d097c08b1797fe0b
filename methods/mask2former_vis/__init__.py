"""Mask2Former-VIS (Cheng et al., arXiv 2112.10764) re-implemented from the authors' code
(facebookresearch/Mask2Former, mask2former_video/): the offline member of the Mask2Former family.
Its network is the family's shared parts in methods/families/mask2former/; this package registers
the method and holds its parity check."""
