"""Video page: colorize a short clip, colors carried along the motion so they do not flicker.

Upload a clip (or take the sample, an old-film pan), see its first frame, optionally give that frame
colors (a reference photo or hints), Colorize: the run waits its turn in the server's queue, shows
its progress and can be stopped; then the input and the result play side by side, the MP4 downloads,
and a chart shows how much the colors change from frame to frame with and without the temporal blend.
Layout only: the helpers are in ``ui.video_ui``, the video work in ``colorizer.video``.
"""
from ui import widgets
from ui.video_ui import video_page_ui

widgets.run_page(video_page_ui)
