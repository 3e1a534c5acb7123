"""AnalyticsService: campaign, pool, model and adverse-impact reports (DESIGN §3)."""
