"""EoMT, the encoder-only mask transformer: a plain ViT that segments. Object queries join the
ViT's last blocks, and the ViT's final norm feeds a class head and a mask head whose embeddings
meet the patch tokens upscaled to stride 4. VidEoMT (its video form, from the same group:
tue-mps) is built on it, as are its relatives (PMT, LVMT). The ViT itself is a part
(`methods/common/vit.py`)."""
