"""`python -m platescan ...`: see `platescan.cli`."""

import sys

from platescan.cli import main

sys.exit(main())
