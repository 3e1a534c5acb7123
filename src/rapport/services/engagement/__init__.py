"""EngagementService (DESIGN §3, §7): calibrated response probabilities, bands and factors
from the `rapport-engagement` champion, kept fresh from the registry and the change feed."""
