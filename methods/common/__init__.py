"""Model parts every method may share: backbones (ResNet, detectron2 ResNet, Swin, the DINOv2
ViT), multi-scale deformable attention, position encodings, fast paths, frame sampling, losses.
Whole architectures live one floor up, in `methods/families/`."""
