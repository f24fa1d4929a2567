# Hugging Face Spaces (sdk: docker) and any Docker host: the Streamlit app on port 8501.
#
# One build argument picks the TensorFlow build: TENSORFLOW=cpu (the default) installs requirements.txt
# as it is; TENSORFLOW=gpu adds tensorflow[and-cuda] at the same version (CUDA and cuDNN come as pip
# wheels; the NVIDIA driver comes with the GPU hardware). A Hugging Face Space passes its variables to
# the build as build arguments: set a variable TENSORFLOW=gpu in the Space's settings. Locally:
#   docker build -t colorizer .                          # CPU
#   docker build --build-arg TENSORFLOW=gpu -t colorizer-gpu .
FROM python:3.11-slim

ARG TENSORFLOW=cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    # On a GPU, take its memory as needed rather than all of it at start (inference and a fine-tune share it).
    TF_FORCE_GPU_ALLOW_GROWTH=true \
    # Two malloc arenas instead of one per busy thread: less memory held idle (see colorizer/process.py).
    MALLOC_ARENA_MAX=2 \
    HOME=/home/user \
    # Fine-tuned checkpoints go here: writable by the app user (a Space's disk is wiped on restart).
    COLORIZER_CHECKPOINT_DIR=/home/user/data/checkpoints

# Spaces run the container as uid 1000.
RUN useradd --create-home --uid 1000 user
WORKDIR /home/user/app

COPY --chown=user requirements.txt constraints.txt ./
RUN set -eu; \
    case "$TENSORFLOW" in \
      cpu) extra="" ;; \
      gpu) extra="tensorflow[and-cuda]==$(sed -n 's/^tensorflow==//p' requirements.txt)" ;; \
      *) echo "build argument TENSORFLOW must be cpu or gpu, not '$TENSORFLOW'" >&2; exit 1 ;; \
    esac; \
    pip install -r requirements.txt $extra

COPY --chown=user . .
RUN mkdir -p /home/user/data/checkpoints && chown -R user:user /home/user/data

USER user
# Compile the join's kernels (colorizer/lab8_kernels.py) into numba's cache beside them now, not while
# the first visitor waits (a host with another CPU model recompiles once, in the server's warm-up).
RUN python -c "from colorizer import lab8; lab8.warm_up()"
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4)"

# `streamlit run streamlit_app.py` with the default model loading while the server starts (ui/serve.py).
CMD ["python", "-m", "ui.serve", "--server.port=8501", "--server.address=0.0.0.0"]
