"""Subscriptions: the time from a mutation's response to the event at its subscribers.

The setting, each part in a process of its own:

- **the database**: SecantusDB (`secantus.SecantusDBServer`), a MongoDB wire-protocol server
  over WiredTiger that is a single-node replica set and so gives change streams, which the
  stub (stub_server.py) does not. It runs in a subprocess. SecantusDB is Python with a thread
  per connection; in a thread of this process it would share a GIL with the mutating client,
  in the very window that is timed (it serves the mutation's writes and the change stream's
  getMore then). Measured both ways on a shared 2-core machine (2 runs each, 1,000
  subscribers, 20 mutations): no difference beyond the noise ((a) p50 -0.0 and -1.2 ms in a
  thread, -1.2 and 1.1 ms in a process; round trips 45-47 and 47-53 ms). A process all the
  same: nothing of the database then weighs on t0, and it stops cleanly with its storage.
- **the gateway**: `instance-gateway serve` (processes.py), filled with a few hundred of
  data.py's instances by `instance-gateway import`, following one change stream and fanning
  each change out to every subscriber (app/subscriptions/hub.py).
- **the subscribers**: one WebSocket connection each (`graphql-transport-ws`, the `websockets`
  client), all in one client process by default (`client_processes` splits them). A receive
  loop per connection stamps `time.perf_counter()` the moment `recv` returns, before decoding;
  the message is matched to its mutation by the substatus label afterwards.
- **the mutating client**: this process, which does nothing else while it waits: `setSubstatus`
  over a keep-alive HTTP connection (http.client), t0 taken when the response has been read.
  It asks the client processes for their arrivals only after t0, so their work never delays it.

`perf_counter` is CLOCK_MONOTONIC on Linux, one clock for every process, so an arrival in a
client process and t0 here compare directly. Latency = arrival - t0, over every (subscriber,
mutation) pair; it is negative where the event beat the response (the gateway records the
change's audit event before it answers, and the change stream may deliver first), and is
reported as it is. The mutations come one at a time: the next after every subscriber has the
last one (or a timeout), each on another instance, each label unique.

Scenarios: (a) one subscriber; (b) 1,000 subscribers, one caller and one query, the case
app/graphql/rendering.py executes once per event; (c) 1,000 subscribers who are 1,000 callers
(service-owner tokens of `ttd` with distinct org_number claims): the change hub judges each
caller's visibility on its own, while the execution is shared, as callers of one org see an
instance alike (`instance_view` in app/authorization/access.py); (d) the message box: the one
subscriber of (a) beside 2,000 end users of 2,000 parties that own no instance (in a client
process of their own), whom no change concerns: the change hub files them under their
parties, so a change should cost what it costs in (a). The gateway's resident set is read
before and after every subscriber has subscribed, for what an idle subscriber holds.

The clients' receive work is part of what is measured: 1,000 sockets in one Python process
take their time to read. The report gives the client processes' CPU time per mutation beside
the gateway's, and `client_processes` > 1 repeats (b) with the subscribers split across
processes, to show how much of the figure the client is.
"""

import asyncio
import contextlib
import http.client
import itertools
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson
import websockets

from app.authorization.tokens import mint_token
from benchmarks.data import ORG, SECRET, as_served, make_instances, service_owner_token, write_ndjson
from benchmarks.measure import memory_of, ms, percentile
from benchmarks.processes import GatewayServer, gateway_env, gateway_process, import_instances, stopped

# A frontend's selection: what changed, and enough of the instance to redraw its row.
SUBSCRIPTION = """subscription Changes {
  instanceChanged {
    operation instanceId at
    instance {
      id appId lastChanged
      status { isSoftDeleted isHardDeleted readStatus substatus { label } }
      process { currentTask { elementId } }
      data { id dataType }
    }
  }
}"""
MUTATION = """mutation Mark($id: ID!, $label: String!) {
  setSubstatus(instanceId: $id, substatus: { label: $label }) { id lastChanged }
}"""
INSTANCES = 400  # generated; the ~360 of ttd are imported
READY = "secantus ready "
_DATABASE_SERVER = f"""
import signal, sys
import secantus
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
server = secantus.SecantusDBServer(storage_path=sys.argv[1], port=0)
server.start()
print({READY!r} + server.uri, flush=True)
try:
    server.wait()
finally:
    server.stop()
"""
CONNECTING_AT_ONCE = 64
BYSTANDERS_AT_ONCE = 250
ARRIVAL_TIMEOUT_S = 30.0
GAP_S = 0.05  # between one mutation's last arrival and the next mutation


# ---------------------------------------------------------------------------------------------
# Pure helpers


def label_of(message: bytes | str) -> str | None:
    """The substatus label of the instance in a `next` message; None for any other message."""
    decoded = orjson.loads(message)
    if not isinstance(decoded, dict) or decoded.get("type") != "next":
        return None
    change = ((decoded.get("payload") or {}).get("data") or {}).get("instanceChanged") or {}
    status = (change.get("instance") or {}).get("status") or {}
    return (status.get("substatus") or {}).get("label")


def end_user_tokens(count: int, first_party: int = 70_000_000) -> list[str]:
    """`count` end users, each of a party of their own that owns none of the instances."""
    return [
        mint_token(secret=SECRET, user_id=str(first_party + i), party_id=str(first_party + i), ttl_seconds=4 * 3600)
        for i in range(count)
    ]


def subscriber_tokens(count: int, distinct: bool) -> list[str]:
    """`count` tokens of the service owner ttd: all one caller, or each a caller of its own
    (its own org_number claim, so the gateway shares neither visibility nor execution)."""
    if not distinct:
        return [service_owner_token()] * count
    return [mint_token(secret=SECRET, org=ORG, org_number=f"9{i:08d}", ttl_seconds=4 * 3600) for i in range(count)]


def split(items: Sequence[Any], parts: int) -> list[list[Any]]:
    """`items` in `parts` runs as even as can be, in order; no empty run."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    runs, start = [], 0
    for part in range(parts):
        end = start + size + (part < extra)
        runs.append(list(items[start:end]))
        start = end
    return runs


@dataclass
class Result:
    name: str
    subscribers: int
    client_processes: int
    mutations: int = 0
    latencies: list[float] = field(default_factory=list)  # arrival - t0, every (subscriber, mutation)
    since_request: list[float] = field(default_factory=list)  # arrival - the mutation's request sent
    round_trips: list[float] = field(default_factory=list)
    missing: int = 0  # (subscriber, mutation) pairs that never arrived
    closed: list[str] = field(default_factory=list)  # connections the gateway closed
    bystanders: int = 0  # subscribers no change concerns
    gateway_cpu_s: float = 0.0  # over the measured mutations
    rss_per_subscriber: float = 0.0  # the gateway's resident set's rise while they subscribed
    client_cpu_s: float = 0.0
    connect_s: float = 0.0

    def summary(self) -> dict[str, float]:
        values = self.latencies or [float("nan")]
        return {
            "p50": percentile(values, 50),
            "p99": percentile(values, 99),
            "max": max(values),
            "min": min(values),
            "round_trip": statistics.median(self.round_trips) if self.round_trips else float("nan"),
            "since_request": percentile(self.since_request, 50) if self.since_request else float("nan"),
        }


def _signed_ms(seconds: float) -> str:
    return "n/a" if seconds != seconds else f"{seconds * 1000:.1f}"


def report(results: Sequence[Result], target_ms: float = 50) -> list[str]:
    lines = [
        "Subscriptions: from a mutation's HTTP response to the event at each subscriber (gateway on "
        "SecantusDB, change stream; ms; over every subscriber and mutation)",
        "",
        "| scenario | subscribers | p50 | p99 | max | mutation round trip (p50) |",
        "|---|---|---|---|---|---|",
    ]
    for result in results:
        s = result.summary()
        lines.append(
            f"| {result.name} | {result.subscribers:,} | {_signed_ms(s['p50'])} | {_signed_ms(s['p99'])} | "
            f"{_signed_ms(s['max'])} | {_signed_ms(s['round_trip'])} |"
        )
    lines += [
        "",
        "| scenario | mutations | min | arrivals before the response | p50 from the request sent | lost | "
        "closed by the gateway | gateway CPU / mutation | client CPU / mutation | connecting | "
        "gateway RSS / subscriber |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        s = result.summary()
        early = sum(1 for latency in result.latencies if latency < 0)
        per = max(result.mutations, 1)
        lines.append(
            f"| {result.name} | {result.mutations} | {_signed_ms(s['min'])} | {early:,} of "
            f"{len(result.latencies):,} | {_signed_ms(s['since_request'])} | {result.missing:,} | "
            f"{len(result.closed)} | "
            f"{ms(result.gateway_cpu_s / per)} | {ms(result.client_cpu_s / per)} | {result.connect_s:.1f} s | "
            f"{result.rss_per_subscriber / 1024:.1f} KB |"
        )
    many = [r for r in results if r.subscribers - r.bystanders >= 1000]
    if many:
        verdicts = ", ".join(
            f"{r.name}: {_signed_ms(r.summary()['p50'])} ms "
            f"({'met' if r.summary()['p50'] < target_ms / 1000 else 'MISSED'})"
            for r in many
        )
        lines += ["", f"target: p50 < {target_ms:.0f} ms with 1,000 subscribers in one process: {verdicts}"]
    alone = next((r for r in results if r.subscribers == 1), None)
    for result in (r for r in results if r.bystanders and alone is not None and alone.gateway_cpu_s > 0):
        ratio = (result.gateway_cpu_s / max(result.mutations, 1)) / (alone.gateway_cpu_s / max(alone.mutations, 1))
        verdict = "met" if ratio <= 1.5 else "MISSED"
        lines.append(
            f"target: gateway CPU per change with {result.bystanders:,} unconcerned subscribers within 1.5x "
            f"of {alone.name}: {ratio:.2f}x ({verdict})"
        )
    for result in results:
        if result.closed:
            lines.append(f"{result.name}: the gateway closed {len(result.closed)} connections, e.g. {result.closed[0]}")
    return lines


# ---------------------------------------------------------------------------------------------
# The database and the gateway


@contextlib.contextmanager
def database_process(storage: Path) -> Iterator[str]:
    """SecantusDB in a process of its own, storing in `storage`: its MongoDB URL, for the block."""
    command = [sys.executable, "-c", _DATABASE_SERVER, str(storage)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process, stopped(process):
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith(READY):
            raise RuntimeError(f"SecantusDB did not start (exit code {process.wait()}): {line!r}")
        yield line.removeprefix(READY).strip()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Mutator:
    """setSubstatus over a keep-alive HTTP connection, as the service owner. A connection idle
    for longer than IDLE_S is opened anew before it is used (http.client does so after
    `close`), as the server closes idle ones (uvicorn's keep-alive timeout, 5 s by default)."""

    IDLE_S = 2.0

    def __init__(self, port: int) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self._headers = {"Authorization": f"Bearer {service_owner_token()}", "Content-Type": "application/json"}
        self._used = time.monotonic()

    def _fresh(self) -> http.client.HTTPConnection:
        if time.monotonic() - self._used > self.IDLE_S:
            self._connection.close()
            self._connection.connect()
        self._used = time.monotonic()
        return self._connection

    def set_substatus(self, instance_id: str, label: str) -> tuple[float, float]:
        """The round trip, and t0: when the response had been read."""
        body = orjson.dumps({"query": MUTATION, "variables": {"id": instance_id, "label": label}})
        connection = self._fresh()
        start = time.perf_counter()
        connection.request("POST", "/graphql", body, self._headers)
        response = connection.getresponse()
        answer = response.read()
        t0 = time.perf_counter()
        self._used = time.monotonic()
        if response.status != 200 or b'"errors"' in answer:
            raise RuntimeError(f"setSubstatus answered {response.status}: {answer[:500]!r}")
        return t0 - start, t0

    def open_subscriptions(self) -> int:
        connection = self._fresh()
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
        self._used = time.monotonic()
        for line in text.splitlines():
            if line.startswith("gateway_open_subscriptions "):
                return int(float(line.split()[1]))
        return -1

    def close(self) -> None:
        self._connection.close()


# ---------------------------------------------------------------------------------------------
# The subscribers: a client process holding many connections


def _raise_file_limit(wanted: int) -> None:
    """Raise this process's soft limit of open files to `wanted` (as far as the hard limit lets)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard)
        )


def _receiver_main(port: int, tokens: list[str], query: str, pipe: Connection) -> None:
    _raise_file_limit(len(tokens) + 256)
    try:
        asyncio.run(_Receiver(port, tokens, query, pipe).run())
    except Exception as error:  # told to the measuring process, which raises it
        pipe.send(("failed", f"{type(error).__name__}: {error}"))


class _Receiver:
    def __init__(self, port: int, tokens: list[str], query: str, pipe: Connection) -> None:
        self.url = f"ws://127.0.0.1:{port}/graphql"
        self.tokens, self.query, self.pipe = tokens, query, pipe
        self.arrivals: dict[str, list[float | None]] = {}
        self.counts: dict[str, int] = {}
        self.complete: dict[str, Any] = {}  # label -> asyncio.Event, for a collect waiting on it
        self.closed: list[str] = []
        self.gone: set[int] = set()  # subscribers whose connection closed

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        gate = asyncio.Semaphore(CONNECTING_AT_ONCE)
        sockets = await asyncio.gather(*(self._open(token, gate) for token in self.tokens))
        listeners = [asyncio.create_task(self._listen(i, s)) for i, s in enumerate(sockets)]
        self.pipe.send(("ready", time.perf_counter() - started))
        try:
            while True:
                command = await loop.run_in_executor(None, self.pipe.recv)
                if command[0] == "collect":
                    self.pipe.send(("arrivals", await self._collect(command[1], command[2]), list(self.closed)))
                elif command[0] == "cpu":
                    self.pipe.send(("cpu", time.process_time()))
                else:
                    break
        finally:
            for listener in listeners:
                listener.cancel()
            await asyncio.gather(*listeners, return_exceptions=True)
            await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
        self.pipe.send(("stopped",))

    async def _open(self, token: str, gate: Any) -> Any:
        async with gate:
            socket = await websockets.connect(
                self.url,
                subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                compression=None,
                ping_interval=None,
                max_size=None,
                open_timeout=60,
            )
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            await socket.send(orjson.dumps(init).decode())  # a text frame, as the protocol wants
            while (answer := orjson.loads(await socket.recv(decode=False)))["type"] == "ping":
                pass
            if answer["type"] != "connection_ack":
                raise RuntimeError(f"connection_init answered {answer}")
            payload = {"query": self.query, "variables": {}}
            await socket.send(orjson.dumps({"type": "subscribe", "id": "1", "payload": payload}).decode())
            return socket

    async def _listen(self, index: int, socket: Any) -> None:
        count = len(self.tokens)
        try:
            while True:
                message = await socket.recv(decode=False)
                arrived = time.perf_counter()
                label = label_of(message)
                if label is None:
                    if message.startswith(b'{"type":"ping"'):
                        await socket.send('{"type":"pong"}')
                    elif not message.startswith(b'{"type":"pong"'):
                        self.closed.append(f"unexpected message on connection {index}: {message[:300]!r}")
                    continue
                times = self.arrivals.setdefault(label, [None] * count)
                if times[index] is None:
                    times[index] = arrived
                    self.counts[label] = self.counts.get(label, 0) + 1
                    if label in self.complete and self.counts[label] + len(self.gone) >= count:
                        self._check(label)
        except websockets.ConnectionClosed as closed:
            received = closed.rcvd
            self.closed.append(
                f"connection {index}: {received.code} {received.reason!r}"
                if received
                else f"connection {index}: dropped without a close frame"
            )
            self.gone.add(index)
            for label in list(self.complete):
                self._check(label)

    def _check(self, label: str) -> None:
        """Wake the collect of `label` once no open connection is still to receive it."""
        times = self.arrivals.get(label) or [None] * len(self.tokens)
        if all(t is not None or i in self.gone for i, t in enumerate(times)):
            self.complete[label].set()

    async def _collect(self, label: str, timeout: float) -> list[float | None]:
        if self.counts.get(label, 0) < len(self.tokens):
            event = self.complete.setdefault(label, asyncio.Event())
            self._check(label)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        self.complete.pop(label, None)
        self.counts.pop(label, None)
        return self.arrivals.pop(label, None) or [None] * len(self.tokens)


class Subscribers:
    """Client processes holding the subscribers' connections, each subscribed once."""

    def __init__(self, port: int, tokens: list[str], processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipes: list[Connection] = []
        self._processes = []
        self.count = len(tokens)
        for run in split(tokens, processes):
            mine, theirs = context.Pipe()
            process = context.Process(target=_receiver_main, args=(port, run, SUBSCRIPTION, theirs), daemon=True)
            process.start()
            theirs.close()
            self._pipes.append(mine)
            self._processes.append(process)
        self.closed: list[str] = []

    def _answer(self, pipe: Connection, timeout: float) -> tuple[Any, ...]:
        if not pipe.poll(timeout):
            raise RuntimeError(f"a subscriber process did not answer in {timeout:.0f} s")
        answer = pipe.recv()
        if answer[0] == "failed":
            raise RuntimeError(f"a subscriber process failed: {answer[1]}")
        return answer

    def ready(self, timeout: float = 600) -> float:
        """Seconds until every connection was open and subscribed (the slowest process)."""
        return max(self._answer(pipe, timeout)[1] for pipe in self._pipes)

    def collect(self, label: str, timeout: float) -> list[float | None]:
        """Every subscriber's arrival of the event labelled `label`; None: not in `timeout`."""
        for pipe in self._pipes:
            pipe.send(("collect", label, timeout))
        arrivals: list[float | None] = []
        for pipe in self._pipes:
            _, times, closed = self._answer(pipe, timeout + 60)
            arrivals += times
            self.closed += [c for c in closed if c not in self.closed]
        return arrivals

    def cpu_seconds(self) -> float:
        for pipe in self._pipes:
            pipe.send(("cpu",))
        return sum(self._answer(pipe, 60)[1] for pipe in self._pipes)

    def stop(self) -> None:
        for pipe in self._pipes:
            with contextlib.suppress(OSError):
                pipe.send(("stop",))
        for pipe, process in zip(self._pipes, self._processes, strict=True):
            with contextlib.suppress(Exception):
                self._answer(pipe, 30)
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()
            pipe.close()


# ---------------------------------------------------------------------------------------------
# The scenarios


def _wait_subscribed(mutator: Mutator, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while (now := mutator.open_subscriptions()) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {now} of {count} subscriptions open after {timeout:.0f} s")
        time.sleep(0.1)


def run_scenario(
    gateway: GatewayServer,
    ids: Sequence[str],
    name: str,
    tokens: list[str],
    client_processes: int,
    mutations: int,
    warmup: int,
    tag: str,
    bystander_tokens: Sequence[str] = (),
) -> Result:
    result = Result(name, len(tokens) + len(bystander_tokens), client_processes, bystanders=len(bystander_tokens))
    mutator = Mutator(gateway.port)
    rss_before = memory_of(gateway.pid)["VmRSS"]
    subscribers = Subscribers(gateway.port, tokens, client_processes)
    bystanders: list[Subscribers] = []  # never collected from: they are to receive nothing
    instances = itertools.cycle(ids)
    try:
        result.connect_s = subscribers.ready()
        _wait_subscribed(mutator, len(tokens))
        # An end user's subscribe reads their roles from the database: 2,000 at once are more
        # than SecantusDB answers within the gateway's timeout, so they come a few hundred at a time.
        for run in split(bystander_tokens, -(-len(bystander_tokens) // BYSTANDERS_AT_ONCE)):
            bystanders.append(Subscribers(gateway.port, run, 1))
            bystanders[-1].ready()
            _wait_subscribed(mutator, len(tokens) + sum(b.count for b in bystanders))
        result.rss_per_subscriber = (memory_of(gateway.pid)["VmRSS"] - rss_before) / result.subscribers
        for k in range(warmup):
            label = f"{tag}w{k}"
            mutator.set_substatus(next(instances), label)
            subscribers.collect(label, ARRIVAL_TIMEOUT_S)
            time.sleep(GAP_S)
        gateway_cpu, client_cpu = cpu_seconds(gateway.pid), subscribers.cpu_seconds()
        for k in range(mutations):
            label = f"{tag}m{k}"
            round_trip, t0 = mutator.set_substatus(next(instances), label)
            arrivals = subscribers.collect(label, ARRIVAL_TIMEOUT_S)
            result.round_trips.append(round_trip)
            result.latencies += [a - t0 for a in arrivals if a is not None]
            result.since_request += [a - (t0 - round_trip) for a in arrivals if a is not None]
            result.missing += sum(1 for a in arrivals if a is None)
            time.sleep(GAP_S)
        result.gateway_cpu_s = cpu_seconds(gateway.pid) - gateway_cpu
        result.client_cpu_s = subscribers.cpu_seconds() - client_cpu
        result.mutations = mutations
        result.closed = list(subscribers.closed)
    finally:
        for held in [subscribers, *bystanders]:
            held.stop()
        mutator.close()
    # The gateway lets go of the connections on its own time; the next scenario starts clean.
    with contextlib.suppress(RuntimeError):
        _wait_until_none(Mutator(gateway.port))
    return result


def _wait_until_none(mutator: Mutator, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    try:
        while mutator.open_subscriptions() > 0:
            if time.monotonic() > deadline:
                raise RuntimeError("subscriptions still open")
            time.sleep(0.1)
    finally:
        mutator.close()


def measure(
    subscribers: int = 1000,
    mutations: int = 40,
    warmup: int = 5,
    client_processes: int = 1,
    seed: int = 20240601,
    bystanders: int = 2000,
) -> tuple[list[Result], list[str]]:
    """The scenarios, on a SecantusDB and a gateway of their own; the results and setup notes."""
    notes: list[str] = []
    served = as_served(make_instances(INSTANCES, seed))
    ids = [i["id"] for i in served]
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gateway-bench-subscriptions-")))
        began = time.perf_counter()
        url = stack.enter_context(database_process(workdir / "secantus"))
        env = gateway_env(url)
        imported = import_instances(write_ndjson(served, workdir / "instances.ndjson"), env, workdir)
        notes.append(f"SecantusDB {url} in its own process; `instance-gateway import`: {imported}")
        gateway = stack.enter_context(gateway_process(env, workdir / "gateway"))
        notes.append(
            f"gateway: ready {gateway.wait_ready():.1f} s after its start ({time.perf_counter() - began:.1f} s "
            "with the database and the import)"
        )
        one = subscriber_tokens(1, distinct=False)
        scenarios = [
            ("(a) 1 subscriber", one, 1, []),
            ("(b) one caller, one query", subscriber_tokens(subscribers, distinct=False), 1, []),
            ("(c) every subscriber another caller", subscriber_tokens(subscribers, distinct=True), 1, []),
            (f"(d) 1 + {bystanders:,} end users of other parties", one, 1, end_user_tokens(bystanders)),
        ]
        if client_processes > 1:
            scenarios.append(
                (
                    f"(b) with {client_processes} client processes",
                    subscriber_tokens(subscribers, distinct=False),
                    client_processes,
                    [],
                )
            )
        results = []
        run_tag = f"{os.getpid() % 1000}"
        for index, (name, tokens, processes, others) in enumerate(scenarios):
            tag = f"b{run_tag}s{index}"
            results.append(run_scenario(gateway, ids, name, tokens, processes, mutations, warmup, tag, others))
    notes.append(
        f"subscriptions: {mutations} mutations a scenario after {warmup} of warm-up, one at a time, each "
        "on another instance; latency = arrival at the subscriber - the mutation's response read "
        "(negative: the event came first)"
    )
    return results, notes
