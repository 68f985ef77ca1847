# condgan's web service on CPU, two targets from one file (docs/deploy.md has the details):
#   docker build -t condgan-serve .                        # default: the slim server of ONNX exports, no torch
#   docker build --target ckpt -t condgan-serve-ckpt .     # also serves training checkpoints, with CPU torch
#   docker run --rm -p 8000:8000 -v "$PWD/export:/models:ro" condgan-serve     # serves /models/last.onnx
# The model is mounted read-only, not baked in: one image serves any export of any run.
# BASE: any Debian-like image with python3 (>= 3.11) and its venv module. CI builds this file from a local
# Debian bookworm made with mmdebstrap (tests/test_container.py), since it cannot pull python:3.11-slim.
ARG BASE=python:3.11-slim
# Where pip looks and which CA bundle it trusts, for builds behind a mirror or a proxy; neither stays in the
# image (give a bundle as a build-time volume: --volume /etc/ssl/certs:/etc/ssl/certs:ro).
ARG PIP_INDEX_URL=https://pypi.org/simple
ARG PIP_CERT=""

FROM ${BASE} AS onnx
ARG PIP_INDEX_URL
ARG PIP_CERT
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/condgan/bin:$PATH

# The package with its [serve] extra, as a user installs it, pinned by constraints.txt: FastAPI, uvicorn, ONNX
# Runtime, numpy, Pillow, Hydra's config library; no torch.
COPY pyproject.toml README.md constraints.txt /src/
COPY src /src/src
RUN python3 -m venv /opt/condgan \
    && pip install --index-url "$PIP_INDEX_URL" ${PIP_CERT:+--cert $PIP_CERT} --constraint /src/constraints.txt \
        "/src[serve]" \
    && rm -rf /src/src/condgan.egg-info /src/build

# A user without a login or a home; numeric, so that Kubernetes' runAsNonRoot can check it.
RUN groupadd --gid 10001 condgan \
    && useradd --uid 10001 --gid 10001 --no-create-home --no-log-init --home-dir /nonexistent \
        --shell /usr/sbin/nologin condgan \
    && mkdir /models
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
# The model is loaded before the port opens: the first 200 from /healthz means ready. No curl in slim images.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# host=0.0.0.0: reachable through the published port. Arguments after the image name replace the command,
# e.g. `ckpt_path=/models/epoch_012.onnx max_concurrency=4`.
ENTRYPOINT ["condgan", "serve", "host=0.0.0.0", "port=8000"]
CMD ["ckpt_path=/models/last.onnx"]


FROM onnx AS ckpt
# CPU-only torch first, from PyTorch's CPU index (PyPI's wheels bundle CUDA: gigabytes a CPU never uses), then
# the [train] extra (lightning, safetensors, ...) that loading a .ckpt or .safetensors file needs, pinned as above.
ARG PIP_INDEX_URL
ARG PIP_CERT
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
USER root
RUN pip_args="--index-url $PIP_INDEX_URL ${PIP_CERT:+--cert $PIP_CERT}" \
    && pip install ${PIP_CERT:+--cert $PIP_CERT} --index-url "$TORCH_INDEX_URL" --no-warn-conflicts \
        --constraint /src/constraints.txt torch torchvision \
    && pip install $pip_args --constraint /src/constraints.txt "/src[train,serve]" \
    && rm -rf /src/src/condgan.egg-info /src/build
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["ckpt_path=/models/last.ckpt"]


# The default target (`docker build .` without --target): the slim ONNX server.
FROM onnx
