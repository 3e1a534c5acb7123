# One image for every Rapport service: `rapport serve --services <name>` picks the role.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 \
    PIP_NO_CACHE_DIR=1 RAPPORT_HOME=/var/lib/rapport
WORKDIR /app

# torch first and pinned, so nothing later pulls another build. For a small CPU-only image,
# point pip at a CPU wheel index: --build-arg TORCH_PIP_ARGS="--index-url <cpu index>".
ARG TORCH_PIP_ARGS=""
RUN pip install "torch==2.13.0" $TORCH_PIP_ARGS
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . && useradd --system --home /var/lib/rapport rapport \
    && mkdir -p /var/lib/rapport && chown rapport /var/lib/rapport
USER rapport
EXPOSE 50051
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD python -c "import grpc,sys;from grpc_health.v1 import health_pb2 as h,health_pb2_grpc as g;\
sys.exit(g.HealthStub(grpc.insecure_channel('127.0.0.1:50051')).Check(h.HealthCheckRequest(),timeout=2).status!=1)"
ENTRYPOINT ["rapport"]
CMD ["serve"]
