"""``python -m colorizer ...``: see ``colorizer.cli``."""
import sys

from colorizer.cli import main

sys.exit(main())
