"""Mask2Former's family (Mask2Former-VIS, MinVIS): shared model parts and training objective."""
