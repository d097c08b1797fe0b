"""The OVIS metric: the YouTube-VIS phases parameterised by occlusion range (`metric`), with the
matching repeated per (area, occlusion) range where a pass cannot be shared (`matching`)."""
