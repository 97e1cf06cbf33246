"""`python -m vcm.cli ...`: the same as the `vcm` command."""

import sys

from vcm.cli.main import main

sys.exit(main())
