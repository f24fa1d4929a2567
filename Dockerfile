# Hugging Face Spaces (sdk: docker) and any Docker host: the Streamlit app on port 8501, CPU.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    HOME=/home/user \
    # Fine-tuned checkpoints go here: writable by the app user (a Space's disk is wiped on restart).
    COLORIZER_CHECKPOINT_DIR=/home/user/data/checkpoints

# Spaces run the container as uid 1000.
RUN useradd --create-home --uid 1000 user
WORKDIR /home/user/app

COPY --chown=user requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=user . .
RUN mkdir -p /home/user/data/checkpoints && chown -R user:user /home/user/data

USER user
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4)"

CMD ["streamlit", "run", "streamlit_app.py", "--server.port=8501", "--server.address=0.0.0.0"]
