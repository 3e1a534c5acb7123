"""Engagement scoring (DESIGN §7): point-in-time features, the packaged model, the registry.

The contract between training (`rapport.training.engagement*`) and serving
(`rapport.services.engagement`); both sides import only these names:

- `features.FEATURE_SPEC: FeatureSpec` (version, names, categorical names, dtypes) — the one
  spec used to build training sets and to score; a model records the spec it was trained on
  (`FeatureSpec.fingerprint()`, tag `feature_spec_hash` on every registered version).
- `features.build_features(session, as_of, candidate_pks=None) -> pandas.DataFrame` indexed
  by candidate pk, one column per `FEATURE_SPEC.names`, computed only from store rows that
  existed before `as_of` (timeline events with `occurred_at < as_of`, pool history, profile).
  Active candidates created before `as_of` only; unknown pks are left out.
  `features.build_feature_sets(session, cutoffs, candidate_pks=None)` is the same at many
  cutoffs from one read of the timeline (training sets).
- `scorer.EngagementScorer`: what a service holds — `name`, `version`, `feature_spec`,
  `metadata` (horizon_days, trained_at, training_data_hash, metrics),
  `predict_proba(frame) -> numpy array` (calibrated probability of a response within the
  horizon), `explain(frame, top) -> list[list[Factor]]` (`Factor(feature, value,
  contribution)`: signed contributions per person, in calibrated-logit units, strongest
  first).
- `bands.band_for(probability, thresholds) -> "hot" | "warm" | "cold" | "dormant"`;
  `bands.thresholds_from(settings)` reads `engagement_band_hot|warm|cold`.
- `registry.Registry(settings)`: `resolve_alias(name, alias) -> ModelVersionInfo | None`
  (RegistryUnavailable when the tracking store cannot be reached),
  `get_version(version, name, metrics=False)`, `download_version(info_or_version, dest_dir,
  name) -> Path` (atomic; a no-op when `dest_dir` is complete), `list_versions`,
  `set_alias`, `register`, `log_model`, `start_run`; `registry.load_scorer(path) ->
  EngagementScorer` (no MLflow import; ModelRejected when the spec is not `FEATURE_SPEC`).
"""
