import sys

from aiconform.sim.cli import main

sys.exit(main())
