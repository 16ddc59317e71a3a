"""`python -m platescan ...`: see `platescan.tools.cli`."""

import sys

from platescan.tools.cli import main

sys.exit(main())
