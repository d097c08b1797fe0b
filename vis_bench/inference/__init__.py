"""Driving a method over a dataset: clip schedule, clip stitching, the runner."""
