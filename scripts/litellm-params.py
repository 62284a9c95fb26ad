"""Prints the `litellm_params` names LiteLLM owns (consumes itself instead of sending them to
the provider), for `LITELLM_OWNED` in src/config/litellm_params.rs. Pricing names (`*cost*`)
and internal names (`_*`) are matched by pattern there and left out. Run with LiteLLM's venv:

    LITELLM_LOCAL_MODEL_COST_MAP=True /work/venv-litellm/bin/python scripts/litellm-params.py
"""

import importlib.metadata
import textwrap
import warnings

warnings.filterwarnings("ignore")
import litellm  # noqa: E402
from litellm.types.router import GenericLiteLLMParams  # noqa: E402

names = set(litellm.all_litellm_params) | set(GenericLiteLLMParams.model_fields)
kept = sorted(n for n in names if "cost" not in n and not n.startswith("_"))
print(f"// LiteLLM {importlib.metadata.version('litellm')}: {len(kept)} names")
print('const LITELLM_OWNED: &str = "\\')
for line in textwrap.wrap(" ".join(kept), 90):
    print(f"{line} \\")
print('";')
