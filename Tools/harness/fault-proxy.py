#!/usr/bin/env python3
"""A TCP proxy on loopback that injects network faults, one decision per connection.

Put it in front of `prolo serve` and point `prolo sync --server` at it. For each accepted connection it picks a
fault at random (weights from --weights):

  pass               copy both ways untouched
  drop               close the client's connection at once (FIN), never contacting the server
  reset              reset the client's connection at once (RST)
  truncate-request   pass the request only up to a random byte, then close both sides
  truncate-response  pass the response only up to a random byte (the request reached the server), then close both
  delay              hold every chunk for a random time before passing it on
  jitter             split every chunk into small pieces sent with random gaps (TCP keeps their order)
  lose-push-ack      pass everything until a push request (POST /v1/sync/push) went up, then close both sides
                     when its response starts: the server committed the batch, the client never hears so

A response cut off after the server committed a push is the interesting case: the client must retry, and the
server must answer "already present", not store the batch twice.

    python3 Tools/harness/fault-proxy.py --upstream 127.0.0.1:8787 --listen 127.0.0.1:0 --port-file P --stats-file S

With --weights-file the weights are read from that file (same syntax) whenever it changes, so a harness can
switch between calm and storm phases while the proxy runs.

It prints `fault-proxy: listening on HOST:PORT`, writes the port to --port-file, keeps --stats-file (JSON:
connections per fault, bytes) up to date, and stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import socket
import struct
import sys
from collections import Counter

FAULTS = ("pass", "drop", "reset", "truncate-request", "truncate-response", "delay", "jitter", "lose-push-ack")
DEFAULT_WEIGHTS = "pass=35,drop=10,reset=5,truncate-request=10,truncate-response=15,delay=10,jitter=5,lose-push-ack=10"
PUSH = b"/v1/sync/push"


def parse_weights(text: str) -> dict[str, float]:
    weights = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in FAULTS:
            raise SystemExit(f"fault-proxy: unknown fault {name!r} (known: {', '.join(FAULTS)})")
        weights[name] = float(value)
    if sum(weights.values()) <= 0:
        raise SystemExit("fault-proxy: the weights add up to nothing")
    return weights


def parse_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


class FaultProxy:
    def __init__(self, upstream: tuple[str, int], weights: dict[str, float], seed: int, max_delay: float,
                 max_cut: int, stats_file: str | None, weights_file: str | None = None):
        self.upstream = upstream
        self.set_weights(weights)
        self.weights_file = weights_file
        self.weights_mtime = 0.0
        self.rng = random.Random(seed)
        self.max_delay = max_delay
        self.max_cut = max_cut
        self.stats_file = stats_file
        self.stats: Counter = Counter()
        self.active: set[asyncio.Task] = set()

    def set_weights(self, weights: dict[str, float]) -> None:
        self.names = list(weights)
        self.weights = [weights[n] for n in self.names]

    def reload_weights(self) -> None:
        if not self.weights_file:
            return
        try:
            mtime = os.stat(self.weights_file).st_mtime
            if mtime != self.weights_mtime:
                with open(self.weights_file) as handle:
                    self.set_weights(parse_weights(handle.read().strip()))
                self.weights_mtime = mtime
                self.stats["weight changes"] += 1
        except (OSError, SystemExit):
            pass

    def save(self) -> None:
        if not self.stats_file:
            return
        temporary = self.stats_file + ".tmp"
        with open(temporary, "w") as handle:
            json.dump(dict(self.stats), handle, indent=1, sort_keys=True)
        os.replace(temporary, self.stats_file)

    @staticmethod
    def reset(writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        writer.transport.abort()

    async def handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self.active.add(task)
        self.reload_weights()
        fault = self.rng.choices(self.names, self.weights)[0]
        self.stats["connections"] += 1
        self.stats[fault] += 1
        try:
            if fault == "drop":
                client_writer.close()
                return
            if fault == "reset":
                self.reset(client_writer)
                return
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
            except OSError:
                self.stats["upstream unreachable"] += 1
                self.reset(client_writer)
                return
            up_limit = self.cut() if fault == "truncate-request" else None
            down_limit = self.cut() if fault == "truncate-response" else None
            done = asyncio.Event()
            state = {"push sent": False}
            upward = asyncio.create_task(
                self.pump(client_reader, upstream_writer, fault, up_limit, done, "bytes up", state))
            downward = asyncio.create_task(
                self.pump(upstream_reader, client_writer, fault, down_limit, done, "bytes down", state))
            await done.wait()
            for pump in (upward, downward):
                pump.cancel()
            await asyncio.gather(upward, downward, return_exceptions=True)
            for writer in (client_writer, upstream_writer):
                writer.transport.abort() if fault.startswith(("truncate", "lose")) else writer.close()
        finally:
            self.active.discard(task)
            self.save()

    def cut(self) -> int:
        """Where to cut a stream: log-uniform in 0…max_cut, so short answers and long batches are both cut."""
        return int(math.exp(self.rng.uniform(0, math.log(self.max_cut + 1)))) - 1

    async def pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, fault: str, limit: int | None,
                   done: asyncio.Event, counter: str, state: dict) -> None:
        passed = 0
        tail = b""
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                if fault == "lose-push-ack":
                    if counter == "bytes up" and PUSH in tail + chunk:
                        state["push sent"] = True
                    tail = chunk[-len(PUSH):]
                    if counter == "bytes down" and state["push sent"]:
                        self.stats["push acks lost"] += 1
                        break
                if limit is not None and passed + len(chunk) >= limit:
                    writer.write(chunk[:limit - passed])
                    await writer.drain()
                    self.stats[counter] += limit - passed
                    self.stats["cut " + fault.split("-")[1] + "s"] += 1
                    break
                if fault == "delay":
                    await asyncio.sleep(self.rng.uniform(0, self.max_delay))
                if fault == "jitter":
                    offset = 0
                    while offset < len(chunk):
                        piece = chunk[offset:offset + self.rng.randint(1, 1024)]
                        writer.write(piece)
                        await writer.drain()
                        offset += len(piece)
                        await asyncio.sleep(self.rng.uniform(0, 0.01))
                else:
                    writer.write(chunk)
                    await writer.drain()
                passed += len(chunk)
                self.stats[counter] += len(chunk)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            done.set()


async def serve(args) -> None:
    proxy = FaultProxy(parse_address(args.upstream), parse_weights(args.weights), args.seed, args.max_delay,
                       args.max_cut, args.stats_file, args.weights_file)
    host, port = parse_address(args.listen)
    server = await asyncio.start_server(proxy.handle, host, port, reuse_address=True)
    bound = server.sockets[0].getsockname()[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as handle:
            handle.write(f"{bound}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    print(f"fault-proxy: listening on {host}:{bound}, upstream {args.upstream}, seed {args.seed}", flush=True)
    proxy.save()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()
    for task in list(proxy.active):
        task.cancel()
    proxy.save()
    print(f"fault-proxy: stopped; {json.dumps(dict(proxy.stats), sort_keys=True)}", flush=True)


def main() -> int:
    signal.pthread_sigmask(signal.SIG_SETMASK, [])  # a parent may have blocked SIGTERM; we stop on it
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the server")
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT to listen on (port 0: a free one)")
    parser.add_argument("--weights", default=DEFAULT_WEIGHTS, help=f"fault=weight,… ({DEFAULT_WEIGHTS})")
    parser.add_argument("--weights-file", help="read the weights from this file whenever it changes")
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 30))
    parser.add_argument("--max-delay", type=float, default=0.3, help="longest hold of a chunk, in seconds (0.3)")
    parser.add_argument("--max-cut", type=int, default=262144, help="truncate within the first N bytes (262144)")
    parser.add_argument("--port-file", help="write the bound port here")
    parser.add_argument("--stats-file", help="keep the counts here, as JSON")
    args = parser.parse_args()
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
