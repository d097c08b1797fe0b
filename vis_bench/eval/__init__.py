"""The YouTube-VIS metric, RLE helpers, results.json validation and the submission zip."""
