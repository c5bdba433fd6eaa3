"""`python -m triggerfish.adapters.cli`: the same as the `triggerfish` command."""

import sys

from .main import main

sys.exit(main())
