#!/usr/bin/env python3
"""Regenerates tests/js/node/litellm-router-methods.json: every public method of LiteLLM's Router.

Usage: python3 -m venv /tmp/venv && /tmp/venv/bin/pip install litellm==1.110.2
       LITELLM_LOCAL_MODEL_COST_MAP=True /tmp/venv/bin/python scripts/litellm-router-methods.py
"""
import inspect
import json
import os
import pathlib

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import litellm  # noqa: E402
from litellm import Router  # noqa: E402
from importlib.metadata import version  # noqa: E402

methods = sorted(
    name
    for name, value in inspect.getmembers(Router)
    if not name.startswith("_") and (inspect.isfunction(value) or inspect.ismethod(value))
)
out = pathlib.Path(__file__).resolve().parent.parent / "tests/js/node/litellm-router-methods.json"
out.write_text(json.dumps({"litellm": version("litellm"), "methods": methods}, indent=2) + "\n")
print(f"{len(methods)} public Router methods of litellm {version('litellm')} -> {out}")
