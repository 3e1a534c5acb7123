"""What every Rapport gRPC service shares: server assembly, interceptors, error mapping.

With services/* and cli, the only code that may import grpc. Modules: `server` (ServiceSpec,
build_server, serve_forever, graceful_stop), `interceptors` (request id, deadline, errors,
access log per call), `errors` (the domain-error -> status table, describe_rpc_error),
`deadlines` (CallContext, remaining, require_time), `logging_setup` (configure_logging).
"""
