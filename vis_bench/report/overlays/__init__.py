"""Pictures of what a method predicted: mask overlays of one video, frame by frame.

* `scene`   what one video shows: its GT tracks, each method's predictions above a score, their
            colours (a prediction takes the colour of the GT track it is paired with, so one
            object has one colour across methods), the per-frame marks (GT track missed, false
            positive, identity switch) from the frame matching of `eval/analysis/identity.py`,
            and each GT track's diagnosis (`eval/analysis/diagnose.py`)
* `draw`    one panel of one frame: filled masks, outlines, captions, a header and a timeline
* `sheets`  panels side by side (GT, then one column per method), animations, contact sheets
            and the frame strips the HTML report plays
* `media`   GIF, MP4, PNG and JPEG writing (imageio, Pillow), whole files or nothing
* `inputs`  the videos, ground truth and results a picture is made of: files, or a run folder
"""
