import sys

from wotemu_runtime.cli import main

sys.exit(main())
