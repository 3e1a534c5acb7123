"""What matching runs on, built from settings: the encoder, the skill mapper behind a profile
builder, and the score weights. Shared by the service, the evaluation and the benchmarks, so
all three measure the same thing."""

from __future__ import annotations

from rapport.core.config import Settings
from rapport.models.encoders import Encoder, load_encoder
from rapport.models.profiles import ProfileBuilder
from rapport.models.ranking import Weights
from rapport.models.skills import SkillCatalogue, SkillMapper


def weights_from(settings: Settings) -> Weights:
    return Weights(
        semantic=settings.match_weight_semantic,
        skills=settings.match_weight_skills,
        seniority=settings.match_weight_seniority,
        location=settings.match_weight_location,
    )


def load_runtime(settings: Settings, encoder_kind: str = "") -> tuple[Encoder, ProfileBuilder]:
    """The encoder and a profile builder over the skill mapper. Slow the first time: the
    model is exported to ONNX and the skill catalogue embedded, both cached under
    `settings.models_dir`."""
    encoder = load_encoder(
        encoder_kind or settings.encoder,
        settings.models_dir,
        threads=settings.encoder_threads or None,
    )
    catalogue = SkillCatalogue.bundled()
    options = {"threshold": settings.skill_map_threshold} if settings.skill_map_threshold else {}
    mapper = SkillMapper(catalogue, encoder, cache_dir=settings.models_dir / "skills", **options)
    return encoder, ProfileBuilder(mapper, catalogue.__contains__)


__all__ = ["load_runtime", "weights_from"]
