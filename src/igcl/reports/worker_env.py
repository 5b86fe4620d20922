"""Imported first by the parse stage's fork server: keeps torch out of the parse worker processes.

spaCy imports thinc, and thinc imports torch whenever it is installed (to offer torch-backed layers), which is
about 2 of the 3 seconds the fork server spends importing spaCy before it can fork a worker. The report parser
uses no statistical model and so no torch; marking torch as not importable here makes thinc take its documented
"no torch" path (``thinc.compat.has_torch = False``). This affects only the process that imports this module,
which is the fork server and the workers forked from it; never import it elsewhere.
"""

from __future__ import annotations

import sys

if "torch" not in sys.modules:  # a process that already has torch keeps it
    sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` now raises ImportError
