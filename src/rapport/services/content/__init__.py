"""ContentService (DESIGN §3, §8): the content library, NextBestContent with logged
propensities, and RecordOutcome feeding rewards and the timeline."""
