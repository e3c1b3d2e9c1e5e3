"""vLLM tests run only where vLLM is installed (the separate venv of `make test-vllm`).

The folder is not named `vllm`: with tests/ on sys.path it would shadow the real package.
"""

from __future__ import annotations

import importlib.util

# Opt-in suite: the default venv has no vLLM (several GB), so `make test` does not collect it.
collect_ignore_glob = [] if importlib.util.find_spec("vllm") else ["test_*.py"]
