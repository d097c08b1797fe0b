"""Building blocks shared by the re-implemented methods (torchvision/Deformable-DETR key names)."""
