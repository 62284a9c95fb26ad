"""Vendors LiteLLM's example proxy configs as Router options (tests/fixtures/litellm-configs).

Each `litellm/proxy/*.yaml` and `litellm/proxy/example_config_yaml/*.yaml` of the installed
LiteLLM wheel becomes `<name>.json`: its `model_list` plus its `router_settings` (the keys the
proxy hands to `litellm.Router(...)`). Run with a Python that has LiteLLM and PyYAML:

    LITELLM_LOCAL_MODEL_COST_MAP=True /work/venv-litellm/bin/python scripts/litellm-configs.py
"""

import importlib.metadata
import json
import pathlib
import sys

import litellm
import yaml

proxy = pathlib.Path(litellm.__file__).parent / "proxy"
out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "litellm-configs"
out.mkdir(parents=True, exist_ok=True)

sources = sorted(proxy.glob("*.yaml")) + sorted((proxy / "example_config_yaml").glob("*.yaml"))
for path in sources:
    config = yaml.safe_load(path.read_text()) or {}
    options = {"model_list": config.get("model_list") or []}
    options.update(config.get("router_settings") or {})
    name = path.relative_to(proxy).as_posix().replace("example_config_yaml/", "example_config_yaml__")
    target = out / (name.removesuffix(".yaml") + ".json")
    target.write_text(json.dumps(options, indent=2) + "\n")
    print(f"{path.relative_to(proxy)} -> {target.name}", file=sys.stderr)
print(f"litellm {importlib.metadata.version('litellm')}: {len(sources)} configs", file=sys.stderr)
