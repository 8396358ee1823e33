"""`make lab`: JupyterLab starts, lists notebooks/ and offers a kernel that imports the toolkit."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

from toolkit.config import NOTEBOOKS_DIR, ROOT

TOKEN = "e2c-test-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, body: dict | None = None) -> dict | list:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method="GET" if body is None else "POST",
        headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
        data=None if body is None else json.dumps(body).encode(),
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


async def _execute(port: int, kernel_id: str, code: str) -> tuple[str, str]:
    from tornado.websocket import websocket_connect

    ws = await websocket_connect(f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?token={TOKEN}")
    msg_id = uuid.uuid4().hex
    await ws.write_message(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "username": "test",
                    "session": uuid.uuid4().hex,
                    "msg_type": "execute_request",
                    "version": "5.3",
                },
                "parent_header": {},
                "metadata": {},
                "channel": "shell",
                "buffers": [],
                "content": {
                    "code": code,
                    "silent": False,
                    "store_history": False,
                    "user_expressions": {},
                    "allow_stdin": False,
                    "stop_on_error": True,
                },
            }
        )
    )
    stdout, status = "", ""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        raw = await asyncio.wait_for(ws.read_message(), timeout=90)
        msg = json.loads(raw)
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            stdout += msg["content"]["text"]
        elif msg["msg_type"] == "error":
            stdout += "\n".join(msg["content"]["traceback"])
        elif msg["msg_type"] == "execute_reply":
            status = msg["content"]["status"]
            break
    ws.close()
    return status, stdout


@pytest.mark.slow
def test_jupyterlab_serves_notebooks_and_a_toolkit_kernel(tmp_path):
    port = _free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={TOKEN}",
            f"--notebook-dir={NOTEBOOKS_DIR}",
            "--allow-root",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status = _get(port, "/api/status")
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "JupyterLab did not answer within 60 s"
                time.sleep(0.5)
        assert "started" in status

        listing = _get(port, "/api/contents/")
        names = {item["name"] for item in listing["content"]}
        expected = {p.name for p in NOTEBOOKS_DIR.glob("*.ipynb")}
        assert expected and expected <= names

        specs = _get(port, "/api/kernelspecs")
        kernel = _get(port, "/api/kernels", body={"name": specs["default"]})
        status, out = asyncio.run(
            _execute(port, kernel["id"], "import toolkit, sys; print(toolkit.__version__, sys.prefix)")
        )
        assert status == "ok", out
        assert out.split()[0] == __import__("toolkit").__version__
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
