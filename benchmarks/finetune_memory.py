"""Fine-tunes in a row in one long-running process, as on a public server that never restarts: does each
leave memory behind?

``python -m benchmarks.finetune_memory [--runs 4] [--batch 8] [--photos 20] [--epochs 2] [--crop PX] [--base
hypercolumn] [--beside MP] [--queued] [--results-cache MB] [--decoding MP]`` loads the six shipped models and
colorizes once with each (what a server holds after a visitor opened every page), then runs ``--runs`` fine-tunes of
``--base`` (the flagship) one after the other on the first ``--photos`` training photos (``data/photos/train``, from
``scripts/fetch_photos.py``), each freeing what a server frees after a job (the feature cache,
``process.release_unused``); ``--beside 12`` keeps the flagship colorizing a 12 MP photo meanwhile, as a class's
queue would. ``--queued``: each fine-tune on photos of its own (the next ``--photos`` of the folder), as different
visitors' jobs waiting in the queue one behind the other; the feature cache is then not cleared between them, since
the queue clears it only when no job waits. ``--results-cache 300`` first fills the app's shared results
(``ui.loaders.CACHE``) with that many MB of 12 MP results, as a class leaves it, and ``--decoding 12`` reads a 12 MP
JPEG over and over in another thread, as the upload lane would: with ``--beside``, the server's worst moment
(session 31: 2,645 / 2,714 MiB at crop 144 before a fine-tune shrank that cache). Per fine-tune it prints the
seconds, the peak resident set (sampled every 20 ms) and the resident set after it, in MiB. Set
``MALLOC_ARENA_MAX=2`` as the Docker image does.

A peak that settles after the second fine-tune is a server that keeps what it reuses; one that climbs by the
same step each time is a leak (docs/deploy.md, session 30: ~250 MB a fine-tune before ``loop.fit`` dropped
what TensorFlow kept of its training).
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from colorizer import ARCHITECTURE_NAMES, process

SHIPPED = ARCHITECTURE_NAMES   # every shipped checkpoint is one of each architecture
TRAIN_PHOTOS = Path("data/photos/train")


class PeakSampler:
    """The resident set's highest value since ``reset()``, sampled every ``every_s`` in a daemon thread.

    Sampled rather than read from VmHWM (``process.reset_peak``, exact), so that the figures in docs/deploy.md
    before and after session 30's fix were taken the same way; a peak shorter than 20 ms can be missed."""

    def __init__(self, every_s: float = 0.02):
        self.peak_mb, self._every_s = 0.0, every_s
        threading.Thread(target=self._sample, daemon=True).start()

    def reset(self) -> None:
        self.peak_mb = 0.0

    def _sample(self) -> None:
        while True:
            self.peak_mb = max(self.peak_mb, process.memory_mb()["rss_mb"] or 0.0)
            time.sleep(self._every_s)


@contextmanager
def _over_and_over(work):
    """``work()`` called again and again in a thread while the block runs (``work`` None: nothing)."""
    if work is None:
        yield
        return
    done = threading.Event()

    def keep_working() -> None:
        while not done.is_set():
            work()

    worker = threading.Thread(target=keep_working, daemon=True)
    worker.start()
    try:
        yield
    finally:
        done.set()
        worker.join()


def _random_photo(megapixels: float, seed: int) -> np.ndarray:
    """uint8 RGB noise of ``megapixels``, 4:3."""
    height = int(round((megapixels * 1e6 * 3 / 4) ** 0.5))
    return np.random.default_rng(seed).integers(0, 256, (height, height * 4 // 3, 3), dtype=np.uint8)


def _colorizing(colorizer, megapixels: float):
    """Colorizations of a random ``megapixels`` photo, one after another in a thread, while the block runs."""
    if megapixels <= 0:
        return _over_and_over(None)
    photo = _random_photo(megapixels, seed=1)
    return _over_and_over(lambda: colorizer.colorize(photo))


def _fill_results_cache(megabytes: int) -> None:
    """The app's shared results cache holding ``megabytes`` of 12 MP results (importing ``ui.loaders`` also lets a
    fine-tune shrink it, as in the app)."""
    if megabytes <= 0:
        return
    from ui import loaders

    for i in range(megabytes // 36):
        loaders.CACHE.get(("result", i), lambda: _random_photo(12, seed=i))


def _decoding(megapixels: float):
    """A ``megapixels`` JPEG decoded over and over in a thread while the block runs (as the app reads uploads)."""
    if megapixels <= 0:
        return _over_and_over(None)
    import io

    from PIL import Image

    from colorizer.imageio import decode_image

    buffer = io.BytesIO()
    Image.fromarray(_random_photo(megapixels, seed=2)).save(buffer, "JPEG", quality=90)
    jpeg = buffer.getvalue()
    return _over_and_over(lambda: decode_image(jpeg, "upload.jpg", fit=True))


def _photos(paths: list[Path], folder: Path, photos_from_folder):
    folder.mkdir(parents=True)
    for path in paths:
        shutil.copy(path, folder / path.name)
    return photos_from_folder(folder)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--crop", type=int, default=None, help="crop size in px (default: the model's working size)")
    parser.add_argument("--base", default="hypercolumn", choices=SHIPPED, help="the checkpoint to fine-tune")
    parser.add_argument("--beside", type=float, default=0.0, metavar="MP",
                        help="colorize an MP-megapixel photo with the flagship over and over during each fine-tune, "
                             "as the app's queue does for a class beside it (0: none)")
    parser.add_argument("--queued", action="store_true",
                        help="each fine-tune on photos of its own, queued behind the one before (the feature cache "
                             "is not cleared between them, as when visitors' jobs wait in the queue)")
    parser.add_argument("--results-cache", type=int, default=0, metavar="MB",
                        help="fill the app's shared results cache with MB of 12 MP results first (0: none)")
    parser.add_argument("--decoding", type=float, default=0.0, metavar="MP",
                        help="decode an MP-megapixel JPEG over and over during each fine-tune, as uploads are (0: none)")
    args = parser.parse_args(argv)
    process.limit_malloc_arenas()
    from colorizer.finetune import FinetuneConfig, FinetuneJob
    from colorizer.finetune.photos import photos_from_folder
    from colorizer.finetune.training import FEATURE_CACHE
    from colorizer.inference import load

    sampler = PeakSampler()
    photo = (np.random.default_rng(0).random((480, 640, 3)) * 255).astype(np.uint8)
    models = [load(name) for name in SHIPPED]
    for model in models:
        model.colorize(photo)
    _fill_results_cache(args.results_cache)
    every = sorted(TRAIN_PHOTOS.glob("*"))
    sets = args.runs if args.queued else 1
    if len(every) < args.photos * sets:
        raise SystemExit(f"{TRAIN_PHOTOS}: {len(every)} photos, {args.photos * sets} needed (run scripts/fetch_photos.py)")
    work = Path(tempfile.mkdtemp(prefix="finetune-memory-"))
    try:
        photo_sets = [_photos(every[k * args.photos:(k + 1) * args.photos], work / f"photos-{k}", photos_from_folder)
                      for k in range(sets)]
        print(f"six models loaded and used: {process.memory_mb()['rss_mb']:,.0f} MiB resident", flush=True)
        print("| fine-tune | seconds | peak (MiB) | resident after (MiB) |\n|---|---|---|---|", flush=True)
        for run in range(1, args.runs + 1):
            sampler.reset()
            started = time.perf_counter()
            config = FinetuneConfig(base=args.base, epochs=args.epochs, batch_size=args.batch, crop=args.crop,
                                    out_dir=work / f"finetune-{run}")
            with _colorizing(models[0], args.beside), _decoding(args.decoding):
                FinetuneJob(config, photo_sets[(run - 1) % sets], on_update=process.release_when_done).run()
            if not args.queued or run == args.runs:
                FEATURE_CACHE.clear()  # what the app's queue does when no job waits
            process.release_unused()
            models[0].colorize(photo)
            print(f"| {run} | {time.perf_counter() - started:.0f} | {sampler.peak_mb:,.0f} | "
                  f"{process.memory_mb()['rss_mb']:,.0f} |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
