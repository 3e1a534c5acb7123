"""Rapport: candidate relationship management around one core store, served over gRPC."""

__version__ = "0.1.0"
