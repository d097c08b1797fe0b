"""VidEoMT (CVPR 2026, tue-mps/videomt): an encoder-only video mask transformer on a DINOv2 ViT."""
