"""The bare relay ceiling: the same render-and-POST as the hub's relay recipe, with no persistence.

Run under gunicorn by bench/run.py (`gunicorn bench.ceiling:app`); SINK_URL names the sink.
"""

from __future__ import annotations

import json
import os
import uuid

import requests
from flask import Flask, Response, request
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bench.workload import BODY_TEMPLATE

app = Flask(__name__)
environment = ImmutableSandboxedEnvironment()
templates = {name: environment.from_string(text) for name, text in BODY_TEMPLATE.items()}
session = requests.Session()
SINK_URL = os.environ.get("SINK_URL", "http://127.0.0.1:9000") + "/ingest"


@app.post("/hooks/relay")
def relay() -> Response:
    event = request.get_json(force=True)
    body = json.dumps({name: t.render(event=event) for name, t in templates.items()})
    key = str(uuid.uuid4())
    answer = session.post(
        SINK_URL,
        data=body.encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": key},
        timeout=30,
    )
    answer.raise_for_status()
    return Response(json.dumps({"event_id": key}), status=202, mimetype="application/json")
