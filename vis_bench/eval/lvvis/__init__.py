"""The LV-VIS metric (open vocabulary): the YouTube-VIS metric plus a base / novel split."""
