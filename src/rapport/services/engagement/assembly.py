"""EngagementService's parts wired together: the model holder, the score keeper and the
use cases. `rapport serve` (services/app.py) and the grpc.aio variant the benchmark
measures (bench/engagement_aio.py) build them the same way."""

from __future__ import annotations

from dataclasses import dataclass

from rapport.core.config import Settings
from rapport.core.store.db import Database
from rapport.models.engagement.bands import thresholds_from
from rapport.services.engagement.keeper import ScoreKeeper
from rapport.services.engagement.model_holder import ModelHolder
from rapport.services.engagement.use_cases import EngagementUseCases

# registry.CHAMPION; importing the registry module here would load pandas into every server
CHAMPION = "champion"


@dataclass
class Engagement:
    holder: ModelHolder
    keeper: ScoreKeeper
    use_cases: EngagementUseCases

    def start(self) -> None:
        """The keeper first: the holder hands it the cached champion as soon as it loads."""
        self.keeper.start()
        self.holder.start()

    def close(self) -> None:
        self.holder.close()
        self.keeper.close()


def build_engagement(settings: Settings, db: Database) -> Engagement:
    """Only a service serving the champion writes bands: one serving another alias (a
    challenger in shadow, say) would otherwise overwrite them with its own."""
    keeper = ScoreKeeper(
        db,
        settings,
        thresholds_from(settings),
        write_bands=settings.engagement_alias == CHAMPION,
    )
    holder = ModelHolder(settings, keeper.install)
    return Engagement(holder, keeper, EngagementUseCases(db, settings, holder, keeper))
