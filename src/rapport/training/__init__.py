"""Training jobs: point-in-time datasets, training, evaluation, MLflow registration."""
