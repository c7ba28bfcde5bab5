"""A WebSocket client from outside Deno, Python's websockets (Debian's
python3-websockets), for tests/websocket_process_test.ts. It runs one
scenario against URL and prints one JSON line with what it saw.

Usage: /usr/bin/python3 tests/_websocket_client.py SCENARIO URL [BYTES]

A wss:// URL trusts the certificate in the file WEBSOCKET_CA_FILE names.
"""
import asyncio
import json
import os
import ssl
import sys
import time

import websockets


def connect(url):
    if not url.startswith("wss:"):
        return websockets.connect(url, compression=None)
    context = ssl.create_default_context(cafile=os.environ["WEBSOCKET_CA_FILE"])
    return websockets.connect(url, compression=None, ssl=context)


async def echo(url):
    async with connect(url) as ws:
        await ws.send("hello, é")
        text = await ws.recv()
        await ws.send(b"\x00\x01\xff")
        binary = await ws.recv()
        # A message in three fragments comes back as one.
        await ws.send(iter([b"ab", b"cd", b"ef"]))
        fragmented = await ws.recv()
    return {"text": text, "binary": list(binary), "fragmented": list(fragmented)}


async def too_big(url, size):
    """One message of `size` bytes in two fragments, the second over the limit."""
    async with connect(url) as ws:
        await ws.send(b"x" * 10)
        echoed = await ws.recv()
        half = size // 2 + 1
        await ws.send(iter([b"y" * half, b"z" * half]))
        try:
            await ws.recv()
            return {"error": "echoed a message over the limit"}
        except websockets.ConnectionClosed as closed:
            return {"echoed": len(echoed), "code": closed.rcvd.code,
                    "reason": closed.rcvd.reason}


async def idle(url):
    async with connect(url) as ws:
        started = time.monotonic()
        try:
            await ws.recv()
            return {"error": "got a message"}
        except websockets.ConnectionClosed as closed:
            return {"ms": (time.monotonic() - started) * 1000,
                    "code": closed.rcvd.code, "reason": closed.rcvd.reason}


async def shutdown(url):
    """Says "ready" once open, then waits for the server's close."""
    async with connect(url) as ws:
        print(json.dumps({"ready": True}), flush=True)
        try:
            await ws.recv()
            return {"error": "got a message"}
        except websockets.ConnectionClosed as closed:
            return {"code": closed.rcvd.code, "reason": closed.rcvd.reason}


SCENARIOS = {"echo": echo, "too_big": too_big, "idle": idle,
             "shutdown": shutdown}

if __name__ == "__main__":
    scenario, url, *rest = sys.argv[1:]
    result = asyncio.run(SCENARIOS[scenario](url, *map(int, rest)))
    print(json.dumps(result), flush=True)
