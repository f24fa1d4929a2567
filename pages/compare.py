"""Compare architectures page: one picture through every shipped checkpoint and the fine-tuned ones the
visitor picks (each costs a model load, ~140 MB each until session 32 shared the frozen encoders' weights:
running every fine-tuned model on the server was a way to exhaust it), side by side with time and parameter
count, metrics when the truth is known, and the cards' held-out table. Layout only: the helpers are in
``ui.compare_ui``.
"""
from ui import widgets
from ui.compare_ui import compare_page_ui

widgets.run_page(compare_page_ui)
