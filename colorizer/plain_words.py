"""What each architecture does, in a sentence a class can follow: the app's model picker shows it under the model's
name (``ui.widgets.in_plain_words``), and each architecture declares its own as ``IN_PLAIN_WORDS``
(``colorizer.models.contract``), read from here.

Here, apart from the architectures' modules, because the sidebar draws it on a server's first visit while TensorFlow
is still loading in the background (``ui.warmup``): importing the architectures for it held the whole page blank for
about 10 s (session 44's walk-through). Nothing here imports TensorFlow.
"""
from __future__ import annotations

__all__ = ["PLAIN_WORDS"]

PLAIN_WORDS = {
    "hypercolumn": ("Our best model: two ready-made picture-recognition networks say what is in the photo (sky, "
                    "grass, fur), and a small trained part picks a color for each spot: bold where it is sure, muted "
                    "where it guesses."),
    "hypercolumn_hints": ("An earlier version of the best model that also listens to you: click a spot, pick a color, "
                          "and it spreads that color to the parts that look alike. Without hints its colors are "
                          "weaker."),
    "cifar_ae": ("The simplest model: it shrinks the photo to a tiny 32×32 copy, squeezes that into a short code "
                 "and redraws it in color; those blurry colors go under the photo's own sharp gray detail."),
    "vgg16_ae": ("A ready-made picture-recognition network sees the shapes, and a small trained painter guesses "
                 "the two color channels from them; guessing the average makes its colors safe and dull."),
    "vae": ("Learned to give several different, believable colorings of one photo: each seed number gives "
            "another (mostly muted) version."),
    "unet313": ("Treats coloring as multiple choice, 313 colors for each spot, with rare bright colors given "
                "extra weight in training: bolder colors, more often wrong."),
}
