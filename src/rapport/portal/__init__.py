"""The candidate portal (issue 9): a small server-rendered web app over the gRPC API."""
