"""``python -m colorizer ...``: see ``colorizer.cli``."""
import sys

from colorizer.quiet_tensorflow import quiet_logs

# Before anything imports TensorFlow, whose C++ side logs to stderr, where the CLI promises only failed-file lines.
quiet_logs()

from colorizer.cli import main  # noqa: E402

sys.exit(main())
