"""Fine-tune page: specialize a checkpoint's decoder to your own color photos.

Choose a base checkpoint and photos (uploads or the gallery's color photos), set epochs, learning
rate, batch size, crop size and validation share, Start. The job runs in a background thread, one
per server (others wait in a queue and see their place); the page shows live progress, loss curves,
a per-epoch preview and a Stop button, then the new checkpoint with a ZIP download. A job whose visitor
has left (no page of theirs open for ``ui.visitor.GRACE_S``) stops, keeping its best epoch, and its result is shown
when they come back. Layout only:
the helpers are in ``ui.finetune_ui``, the training in ``colorizer.finetune``.
"""
from ui import widgets
from ui.finetune_ui import finetune_page_ui

widgets.run_page(finetune_page_ui)
