"""Encoders, skill taxonomy, vector index, scoring and model loading. No grpc."""
