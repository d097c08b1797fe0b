"""The Mask2Former family's shared parts (pixel decoder, masked-attention decoder, backbones,
post-processing, training objective), one implementation each for every member: Mask2Former-VIS,
MinVIS and their successors, re-implemented from the authors' code (facebookresearch/Mask2Former,
NVlabs/MinVIS)."""
