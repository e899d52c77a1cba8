import sys

from clothflow.apps.cli import main

sys.exit(main())
