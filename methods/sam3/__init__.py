"""SAM 3 (Carion et al., "Segment Anything with Concepts", facebookresearch/sam3), being
re-implemented from the authors' code; not registered as a method until the video model is
complete (docs/methods/sam3.md says what exists and what remains)."""
