#!/usr/bin/env python3
"""Runs issue #17's config-acceptance cases through LiteLLM's Router against the loopback mock
(tests/mock/server.mjs) and writes what LiteLLM did to tests/fixtures/acceptance/litellm-results.json;
tests/js/node/acceptance-differential.test.mjs runs the same cases through llmux and compares.

    LITELLM_LOCAL_MODEL_COST_MAP=True /work/venv-litellm/bin/python scripts/litellm-acceptance.py

Cases: credentials from the environment (OpenAI's key, Bedrock's AWS keys and region), an
entry's top-level rpm, an exact repeat of an entry, an entry without litellm_params, an unknown
litellm_params key, `region_name` on an OpenAI entry, per-second prices. Each case's result
is what a caller can observe: the constructor's error class, the deployments listed, and for a
call the Authorization header / URL path / body keys the mock received (for per-second prices,
the rate billed: cost / the call's time).
"""

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "acceptance", "litellm-results.json")

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import litellm  # noqa: E402

litellm.suppress_debug_info = True
MESSAGES = [{"role": "user", "content": "hi"}]


def control(url, sub, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"{url}/__mock/{sub}", data=data, method="GET" if body is None else "POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(req) as res:
        return json.loads(res.read())


def fixture(path):
    with open(os.path.join(ROOT, "tests", "fixtures", path)) as f:
        return json.load(f)


def entry(url, name, **params):
    return {"model_name": "chat", "litellm_params": {"model": "openai/mock-model", "api_base": f"{url}/{name}/v1", **params}}


async def call(url, router, name):
    control(url, "reset", {})
    await router.acompletion(model="chat", messages=MESSAGES)
    c = control(url, "calls")["calls"][-1]
    return {
        "path": c["path"],
        "authorization": c["headers"].get("authorization", ""),
        "body_keys": sorted(c["body"].keys()) if isinstance(c["body"], dict) else None,
    }


def construct(model_list, **options):
    try:
        router = litellm.Router(model_list=model_list, **options)
    except Exception as e:  # the class is the result
        return None, {"error": type(e).__name__}
    listed = router.get_model_list() or []
    return router, {
        "error": None,
        "deployments": len(listed),
        "ids": len({d["model_info"]["id"] for d in listed}),
        "rpm": [d["litellm_params"].get("rpm") for d in listed],
    }


async def cases(url):
    out = {}
    env_backup = dict(os.environ)
    try:
        os.environ["OPENAI_API_KEY"] = "sk-from-the-environment-0123456789"
        router, r = construct([entry(url, "envkey")])
        r["call"] = await call(url, router, "envkey")
        out["OPENAI_API_KEY from the environment"] = r
        del os.environ["OPENAI_API_KEY"]

        os.environ.update(
            AWS_ACCESS_KEY_ID="AKIDENVIRONMENT0001",
            AWS_SECRET_ACCESS_KEY="env-secret/key",
            AWS_REGION_NAME="eu-west-3",
        )
        router, r = construct([{
            "model_name": "chat",
            "litellm_params": {
                "model": "bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0",
                "aws_bedrock_runtime_endpoint": f"{url}/bedrockenv",
            },
        }])
        control(url, "reset", {})
        control(url, "script", {"name": "bedrockenv", "steps": [{"status": 200, "body": fixture("bedrock/converse/response_text.json")}]})
        await router.acompletion(model="chat", messages=MESSAGES)
        c = control(url, "calls")["calls"][-1]
        auth = c["headers"].get("authorization", "")
        # "AWS4-HMAC-SHA256 Credential=AKID/20261204/eu-west-3/bedrock/aws4_request, ..."
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/") if "Credential=" in auth else []
        r["call"] = {"path": c["path"], "credential": [scope[0], *scope[2:]] if scope else None}
        out["AWS keys and region from the environment"] = r
    finally:
        os.environ.clear()
        os.environ.update(env_backup)

    e = entry(url, "toprpm", api_key="sk-test")
    e["rpm"] = 7
    _, out["an entry's top-level rpm"] = construct([e])

    same = entry(url, "dup", api_key="sk-test")
    _, out["an exact repeat of an entry"] = construct([same, json.loads(json.dumps(same))])

    _, out["an entry without litellm_params"] = construct([{"model_name": "chat"}])

    router, r = construct([entry(url, "unknown", api_key="sk-test", some_provider_flag="on")])
    r["call"] = await call(url, router, "unknown")
    out["an unknown litellm_params key"] = r

    router, r = construct([entry(url, "region", api_key="sk-test", region_name="us-east-1")])
    r["call"] = await call(url, router, "region")
    out["region_name on an OpenAI entry"] = r

    for name, prices in [
        ("input_cost_per_second", {"input_cost_per_second": 0.5}),
        # Both rates set: LiteLLM bills one rate (cost_per_second, else input, else output).
        ("input and output_cost_per_second", {"input_cost_per_second": 0.5, "output_cost_per_second": 2}),
    ]:
        router, r = construct([entry(url, "persec", api_key="sk-test", **prices)])
        control(url, "reset", {})
        control(url, "script", {"name": "persec", "steps": [{"delay_ms": 300}]})
        started = time.monotonic()
        res = await router.acompletion(model="chat", messages=MESSAGES)
        elapsed = time.monotonic() - started
        per_s = (res._hidden_params.get("response_cost") or 0) / elapsed
        # Which rate was billed: the one of 0.5 (input), 2 (output), 2.5 (both) nearest to the
        # cost per second of the call as the caller timed it (LiteLLM times the request itself).
        r["rate_billed"] = min([0.5, 2, 2.5], key=lambda rate: abs(rate - per_s))
        out[name] = r
    return out


def main():
    mock = subprocess.Popen(["node", os.path.join(ROOT, "tests", "mock", "server.mjs")], stdout=subprocess.PIPE, text=True)
    try:
        line = mock.stdout.readline().strip()
        if not line.startswith("MOCK_URL="):
            sys.exit(f"the mock did not start: {line!r}")
        url = line.split("=", 1)[1]
        results = asyncio.run(cases(url))
        from importlib.metadata import version

        os.makedirs(os.path.dirname(OUT), exist_ok=True)
        with open(OUT, "w") as f:
            json.dump({"litellm": version("litellm"), "results": results}, f, indent=2)
            f.write("\n")
        print(json.dumps(results, indent=2))
    finally:
        mock.terminate()
        mock.wait()


if __name__ == "__main__":
    main()
