"""SAM 3's masklet ids and scores over one prompt's pass: new detections get the next ids (never
reused; the highest-scoring first when the object limit cuts them), a masklet's score is its
birth detection probability, removal sets it to -1e4 and drops the id from the live ones."""

from __future__ import annotations

from dataclasses import dataclass, field

#: `max_num_objects=-1` in the release means this many
MAX_OBJECTS = 10000
REMOVED_SCORE = -1e4


@dataclass
class Masklets:
    max_objects: int = MAX_OBJECTS
    #: live ids, in birth order
    ids: list[int] = field(default_factory=list)
    max_id: int = -1
    #: id -> birth detection probability (REMOVED_SCORE once removed)
    scores: dict[int, float] = field(default_factory=dict)

    def admit(
        self, new_detections: list[int], det_scores: list[float]
    ) -> tuple[list[int], list[int]]:
        """The detections that start masklets (cut to the object limit, keeping the highest
        scores) and their new ids."""
        room = max(self.max_objects - len(self.ids), 0)
        kept = list(new_detections)
        if len(kept) > room:
            by_score = sorted(kept, key=lambda d: det_scores[d])[::-1]
            kept = by_score[:room]
        return kept, [self.max_id + 1 + i for i in range(len(kept))]

    def commit(self, new_ids: list[int], new_scores: list[float], removed: set[int]) -> None:
        """The frame's births and removals."""
        self.ids = [i for i in self.ids + new_ids if i not in removed]
        for obj, score in zip(new_ids, new_scores, strict=True):
            self.scores[obj] = score
        if new_ids:
            self.max_id = max(self.max_id, *new_ids)
        for obj in removed:
            self.scores[obj] = REMOVED_SCORE
