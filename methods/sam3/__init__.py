"""SAM 3 (Carion et al., "Segment Anything with Concepts", facebookresearch/sam3): the video
model re-implemented from the authors' code, registered as the method `sam3` (plugin.py);
docs/methods/sam3.md says what exists and what remains."""
