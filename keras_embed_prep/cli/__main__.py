"""``python -m keras_embed_prep.cli``: the same as the ``keras-embed-prep`` script."""

import sys

from .app import main

sys.exit(main())
