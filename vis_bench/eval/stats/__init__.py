"""Statistics over one evaluation: per-video matching (`video_matches`), re-accumulation under
video weights (`resample`), bootstrap intervals (`bootstrap`), per-video numbers (`per_video`),
subsets (`subset`) and breakdowns by attribute (`breakdown`)."""
