"""`python -m checker.serve`: the same as `crimecheck serve`."""

import sys

from checker.serve.main import main

sys.exit(main())
