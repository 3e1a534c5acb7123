"""Domain, configuration and store. Imports neither grpc nor ML libraries."""
