"""Training SAM 3's detector with text prompts: the authors' set-prediction objective (Hungarian
matching, IoU-aware classification, presence, box and mask losses) on the project's datasets,
one prompt per category name, for the tiny model of SAM 3's shape (docs/methods/sam3.md, Training)."""
