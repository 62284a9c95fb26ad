#!/usr/bin/env python3
"""Runs the failover scenarios of tests/fixtures/failover/scenarios.json (order tiers, weighted
failover, mid-stream continuation, ...) through LiteLLM's Router against the loopback mock
(tests/mock/server.mjs) and writes what happened to tests/fixtures/failover/litellm-results.json;
tests/js/node/failover.test.mjs runs the same scenarios through llmux and compares.

    LITELLM_LOCAL_MODEL_COST_MAP=True /work/venv-litellm/bin/python scripts/litellm-failover.py [NAME...]

`FIXTURES=selection` runs tests/fixtures/selection/ instead (tag routing, affinity, budgets;
replayed by tests/js/node/selection-differential.test.mjs). A request may be a control step
between requests: `{"script": {name: [steps]}}`, `{"mode": {name: spec}}`, `{"sleep_ms": n}`,
`{"health": {id: is_healthy}}` (health-check results, as LiteLLM's proxy stores them; llmux's
replay runs `healthCheck()` against the mock with the unhealthy ones down);
it has no entry in the results. Each selection scenario runs in its own Python process
(`ISOLATE=1`, the default for `FIXTURES=selection`): LiteLLM keeps affinity pins and budget spend
in process-wide caches that outlive a Router, so one scenario's spend or pin would steer the
next one's.

For each request: the mock deployments called (in order), the deployment that answered
(`model_id`), the error class when the request failed, and for a stream the text received.
"""

import asyncio
import json
import os
import subprocess
import sys
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", os.environ.get("FIXTURES", "failover"))

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
        # "closed" is a port nothing listens on: a connection error.
        base = "http://127.0.0.1:9/v1" if e.get("closed") else f"{url}/{e['mock']}/v1"
        params = {"model": e.get("model", "openai/mock-model"), "api_base": base, "api_key": f"sk-test-{e['mock']}"}
        params.update(e.get("params", {}))
        info = {"id": e["mock"], **e.get("info", {})}
        out.append({"model_name": e["model_name"], "litellm_params": params, "model_info": info})
    return out


async def one(router, url, req):
    if isinstance(req, str):
        req = {"model": req}
    seen = len(control(url, "calls")["calls"])
    entry = {"model": req["model"]}
    kwargs = dict(req.get("kwargs", {}))
    messages = req.get("messages", [{"role": "user", "content": "hi"}])
    text = None
    try:
        if req.get("stream"):
            res = await router.acompletion(model=req["model"], messages=messages, stream=True, **kwargs)
            text = ""
            async for chunk in res:
                delta = chunk.choices[0].delta.content if chunk.choices else None
                text += delta or ""
            entry["text"] = text
            entry["model_id"] = (getattr(res, "_hidden_params", None) or {}).get("model_id")
        else:
            res = await router.acompletion(model=req["model"], messages=messages, **kwargs)
            entry["model_id"] = res._hidden_params.get("model_id")
        entry["error"] = None
    except Exception as e:  # the class is the result
        entry.setdefault("model_id", None)
        if text:  # a stream that failed after delivering text: what the caller had seen
            entry["text"] = text
        entry["error"] = type(e).__name__
        entry["message"] = str(e)[:300]
    calls = control(url, "calls")["calls"][seen:]
    entry["calls"] = [c["name"] for c in calls]
    if req.get("stream"):
        entry["bodies"] = [c["body"] for c in calls]
    return entry


async def run(url, scenario):
    control(url, "reset", {})
    for name, steps in scenario.get("script", {}).items():
        control(url, "script", {"name": name, "steps": steps})
    for name, spec in scenario.get("mode", {}).items():
        control(url, "mode", {"name": name, "spec": spec})
    router = litellm.Router(model_list=model_list(url, scenario["model_list"]), **scenario.get("router", {}))
    results = []
    for req in scenario["requests"]:
        if isinstance(req, dict) and not req.get("model") and not req.get("concurrent"):
            for name, steps in req.get("script", {}).items():
                control(url, "script", {"name": name, "steps": steps})
            for name, spec in req.get("mode", {}).items():
                control(url, "mode", {"name": name, "spec": spec})
            if req.get("health"):
                # What the proxy's background health check hands the Router (llmux: a probe).
                import time

                states = {i: {"is_healthy": ok, "timestamp": time.time(), "reason": ""} for i, ok in req["health"].items()}
                router.health().health_checks.set_deployment_health_states(states)
            if req.get("sleep_ms"):
                await asyncio.sleep(req["sleep_ms"] / 1000)
            continue
        if isinstance(req, dict) and req.get("concurrent"):
            batch = await asyncio.gather(*(one(router, url, r) for r in req["concurrent"]))
            results.append({"concurrent": list(batch)})
        else:
            results.append(await one(router, url, req))
    return results


def main():
    if os.environ.get("ONE_SCENARIO"):
        with open(os.environ["SCENARIOS_PATH"]) as f:
            s = next(s for s in json.load(f)["scenarios"] if s["name"] == os.environ["ONE_SCENARIO"])
        print("RESULT=" + json.dumps(asyncio.run(run(os.environ["MOCK_URL"], s))))
        return
    isolate = os.environ.get("ISOLATE", "1" if os.environ.get("FIXTURES") == "selection" else "0") == "1"
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
        path = os.environ.get("SCENARIOS", os.path.join(FIXTURES, "scenarios.json"))
        with open(path) as f:
            scenarios = json.load(f)["scenarios"]
        only = set(sys.argv[1:])
        out_path = os.path.join(FIXTURES, "litellm-results.json")
        out = {"litellm": "?", "results": {}}
        if os.path.exists(out_path) and only:
            with open(out_path) as f:
                out = json.load(f)
        try:
            from importlib.metadata import version

            out["litellm"] = version("litellm")
        except Exception:
            pass
        for s in scenarios:
            if only and s["name"] not in only:
                continue
            if isolate:
                env = dict(os.environ, ONE_SCENARIO=s["name"], SCENARIOS_PATH=path, MOCK_URL=url)
                child = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True)
                lines = [l for l in child.stdout.splitlines() if l.startswith("RESULT=")]
                if child.returncode != 0 or not lines:
                    sys.exit(f"{s['name']}: {child.stderr[-2000:]}")
                out["results"][s["name"]] = json.loads(lines[-1][len("RESULT="):])
            else:
                out["results"][s["name"]] = asyncio.run(run(url, s))
        if not os.environ.get("SCENARIOS"):
            with open(out_path, "w") as f:
                json.dump(out, f, indent=2)
                f.write("\n")
        for name, results in out["results"].items():
            if only and name not in only:
                continue
            print(name)
            for r in results:
                for e in r.get("concurrent", [r]):
                    print("   ", e["model"], "->", e["model_id"], e["error"], e["calls"], repr(e.get("text", ""))[:80], e.get("message", "")[:160] if e["error"] else "")
    finally:
        mock.terminate()
        mock.wait()


if __name__ == "__main__":
    main()
