"""gRPC services: one package per service; services/common assembles the server."""
