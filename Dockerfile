# condgan's web service on CPU. Build and run (docs/deploy.md has the details):
#   docker build -t condgan-serve .
#   docker run --rm -p 8000:8000 -v "$PWD/logs/runs/<date>/<time>/checkpoints:/models:ro" condgan-serve
# The model is mounted, not baked in: one image serves any checkpoint (.ckpt) or ONNX export (.onnx + .json).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# CPU-only torch first, from PyTorch's CPU index (the PyPI wheels bundle CUDA: gigabytes a CPU never uses);
# the package's own `torch>=` requirement is then already met and pip keeps these.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch torchvision

COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install .

RUN useradd --create-home --uid 10001 condgan
USER condgan

EXPOSE 8000
# python:3.11-slim has no curl: ask /healthz with the standard library.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"

# host=0.0.0.0: reachable through the published port. Override the model with e.g. ckpt_path=/models/last.onnx.
ENTRYPOINT ["condgan-serve", "host=0.0.0.0", "port=8000"]
CMD ["ckpt_path=/models/last.ckpt"]
