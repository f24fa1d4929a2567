"""``python -m colorizer ...``: see ``colorizer.cli``."""
import os
import sys

# Before anything imports TensorFlow, whose C++ side logs to stderr, where the CLI promises only failed-file lines:
# 3 (errors too), as 2 still lets "failed call to cuInit" through, logged at ERROR on every machine without a GPU.
# A user who set the variable keeps theirs. (The lines its libraries log as they load, before they read it, remain.)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from colorizer.cli import main  # noqa: E402

sys.exit(main())
