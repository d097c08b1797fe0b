"""VidEoMT (Norouzi et al., CVPR 2026): an encoder-only video mask transformer on a DINOv2 ViT."""
