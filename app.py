"""The Gradio app over the library: ``python app.py [--seeds] [--store DIR] [--host H] [--port P]
[--auth user:password]``. The app itself is ``rag.app``, inside the package, so that ``rag app``
runs it from an installed wheel too; this file is the checkout's entry point."""

import sys

from rag.app import main

if __name__ == "__main__":
    sys.exit(main())
