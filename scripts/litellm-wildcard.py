#!/usr/bin/env python3
"""Runs the wildcard scenarios of tests/fixtures/wildcard/scenarios.json through LiteLLM's
Router against the loopback mock (tests/mock/server.mjs) and writes what happened to
tests/fixtures/wildcard/litellm-results.json; tests/js/node/wildcard.test.mjs runs the same
scenarios through llmux and compares.

    LITELLM_LOCAL_MODEL_COST_MAP=True /work/venv-litellm/bin/python scripts/litellm-wildcard.py

For each request: the mock deployments called (in order), the `model` each call carried, the
deployment that answered (`model_id`) and the error class when the request failed.
"""

import asyncio
import json
import os
import subprocess
import sys
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "wildcard")

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import litellm  # noqa: E402

litellm.suppress_debug_info = True


def control(url, sub, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"{url}/__mock/{sub}",
        data=data,
        method="GET" if body is None else "POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(req) as res:
        return json.loads(res.read())


def model_list(url, entries):
    out = []
    for e in entries:
        params = {
            "model": e["model"],
            "api_base": f"{url}/{e['mock']}/v1",
            "api_key": f"sk-test-{e['mock']}",
        }
        params.update(e.get("params", {}))
        out.append({"model_name": e["model_name"], "litellm_params": params, "model_info": {"id": e["mock"]}})
    return out


async def run(url, scenario):
    control(url, "reset", {})
    for name, steps in scenario.get("script", {}).items():
        control(url, "script", {"name": name, "steps": steps})
    for name, spec in scenario.get("mode", {}).items():
        control(url, "mode", {"name": name, "spec": spec})
    router = litellm.Router(model_list=model_list(url, scenario["model_list"]), **scenario.get("router", {}))
    results = []
    for model in scenario["requests"]:
        seen = len(control(url, "calls")["calls"])
        entry = {"model": model}
        try:
            res = await router.acompletion(model=model, messages=[{"role": "user", "content": "hi"}])
            entry["model_id"] = res._hidden_params.get("model_id")
            entry["error"] = None
        except Exception as e:  # the class is the result
            entry["model_id"] = None
            entry["error"] = type(e).__name__
        calls = control(url, "calls")["calls"][seen:]
        entry["calls"] = [c["name"] for c in calls]
        entry["upstream_models"] = [c["body"].get("model") if isinstance(c["body"], dict) else None for c in calls]
        results.append(entry)
    return results


def main():
    mock = subprocess.Popen(
        ["node", os.path.join(ROOT, "tests", "mock", "server.mjs")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = mock.stdout.readline().strip()
        if not line.startswith("MOCK_URL="):
            sys.exit(f"the mock did not start: {line!r}")
        url = line.split("=", 1)[1]
        with open(os.path.join(FIXTURES, "scenarios.json")) as f:
            scenarios = json.load(f)["scenarios"]
        out = {"litellm": litellm._version.version if hasattr(litellm, "_version") else "?", "results": {}}
        for s in scenarios:
            out["results"][s["name"]] = asyncio.run(run(url, s))
        with open(os.path.join(FIXTURES, "litellm-results.json"), "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
        for name, results in out["results"].items():
            print(name)
            for r in results:
                print("   ", r["model"], "->", r["model_id"], r["error"], r["calls"], r["upstream_models"])
    finally:
        mock.terminate()
        mock.wait()


if __name__ == "__main__":
    main()
