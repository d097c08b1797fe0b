"""Pictures of what a method predicted: mask overlays of one video, frame by frame.

* `scene`   what one video shows: its GT tracks, each method's predictions above a score, their
            colours (a prediction takes the colour of the GT track it is paired with, so one
            object has one colour across methods), the per-frame marks (GT track missed, false
            positive, identity switch) from the frame matching of `eval/analysis/identity.py`,
            and each GT track's diagnosis (`eval/analysis/diagnose.py`)
* `draw`    one panel of one frame: filled masks, outlines, captions, a header and a timeline
* `labels`  where captions go: beside the object each names, off other captions and outlines
* `sheets`  panels side by side (GT, then one column per method), animations, contact sheets
            with a legend of the marks, and each column's layers per frame
* `layers`  the HTML report's browser in layers: one frame strip per video, each track a
            transparent strip, captions and headers as data the page draws
* `predicted` a method's predictions on a video nobody annotated (`predict`)
* `media`   GIF, MP4, PNG and JPEG writing (imageio, Pillow), whole files or nothing
* `inputs`  the videos, ground truth and results a picture is made of: files, or a run folder
"""
