"""Vendors LiteLLM's example proxy configs as Router options (tests/fixtures/litellm-configs).

Each `litellm/proxy/*.yaml` and `litellm/proxy/example_config_yaml/*.yaml` of the installed
LiteLLM wheel becomes `<name>.json`: its `model_list` plus its `router_settings` (the keys the
proxy hands to `litellm.Router(...)`), and tests/fixtures/acceptance/litellm-configs.json
records which of them LiteLLM's own Router constructs. Run with a Python that has LiteLLM and PyYAML:

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


# Which of them LiteLLM's own Router constructs (every "os.environ/NAME" set to a fake value),
# for tests/js/node/litellm-configs.test.mjs: tests/fixtures/acceptance/litellm-configs.json,
# file -> error class or null.
async def construct_all():
    import os
    import re

    results = {}
    for target in sorted(out.glob("*.json")):
        text = target.read_text()
        for name in set(re.findall(r"os\.environ/([A-Za-z0-9_]+)", text)):
            fake = (
                "https://example.test/v1"
                if name.endswith(("_BASE", "_URL", "_ENDPOINT"))
                else "us-east-1"
                if "REGION" in name or "LOCATION" in name
                else f"test-{name.lower()}"
            )
            os.environ.setdefault(name, fake)
        try:
            litellm.Router(**json.loads(text))
            results[target.name] = None
        except Exception as e:  # the class is the result
            results[target.name] = type(e).__name__
    return results


import asyncio  # noqa: E402

constructs = {"litellm": importlib.metadata.version("litellm"), "results": asyncio.run(construct_all())}
(out.parent / "acceptance" / "litellm-configs.json").write_text(json.dumps(constructs, indent=2) + "\n")
print(f"LiteLLM's Router constructs {sum(v is None for v in constructs['results'].values())}", file=sys.stderr)
