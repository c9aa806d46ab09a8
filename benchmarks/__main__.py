"""The gateway's benchmark: `python -m benchmarks` (or `make bench`); `--help` for the knobs.

It generates the data set (data.py), starts the MongoDB wire-protocol stub (stub_server.py) and
fills it with `instance-gateway import`, starts two gateways on it with `instance-gateway serve`,
and measures, in this order:

1. the cost of a page over HTTP against the driver's read + orjson.dumps, and the memory of a
   page of 1,000 (page_cost.py): the headline, the figures the issue's targets are about;
2. where that time goes, in process (in_process.py);
3. requests per second under concurrency, per number of worker processes (throughput.py);
4. grouped counts (`instanceGroups`) against PyMongo's `aggregate` of the same pipeline, on
   SecantusDB and a gateway of its own (groups.py);
5. the time from a mutation's response to the event at 1 and 1,000 subscribers, on SecantusDB
   and a gateway of its own (subscriptions.py), and the change hub alone in process with up
   to 100,000 subscribers (hub_scale.py).

It stops its processes by itself and prints one report.
"""

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import groups, hub_scale, in_process, page_cost, subscriptions, throughput
from benchmarks.data import ORG, as_served, make_instances, service_owner_token, write_ndjson
from benchmarks.processes import DATABASE, gateway_env, gateway_process, import_instances, stub_process
from benchmarks.queries import full_page, leaves


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--instances",
        type=int,
        default=5000,
        help="instances generated (default %(default)s); those of ttd, about 90%%, go into the stub (over 1000 needed)",
    )
    parser.add_argument("--seed", type=int, default=20240601, help="random seed of the data set")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiplies the runs of every timing (default 1: 20 of a page of 1000, 200 of 20); 0.2 for a quick look",
    )
    parser.add_argument(
        "--in-process-sizes",
        type=int,
        nargs="*",
        default=[20, 1000],
        help="pages measured in process (default 20 1000)",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="connections of the throughput measurement")
    parser.add_argument(
        "--worker-counts",
        type=int,
        nargs="+",
        default=[1, 2],
        help="the throughput measurement's gateways: `serve --workers N` for each N (default 1 2)",
    )
    parser.add_argument("--seconds", type=float, default=6, help="seconds of each throughput case (default 6)")
    parser.add_argument("--skip-memory", action="store_true", help="no memory row (starts one gateway fewer)")
    parser.add_argument("--skip-in-process", action="store_true", help="no in-process measurement")
    parser.add_argument("--skip-throughput", action="store_true", help="no throughput measurement")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one in-process request")
    parser.add_argument("--skip-groups", action="store_true", help="no grouped-count measurement")
    parser.add_argument("--only-groups", action="store_true", help="the grouped-count measurement alone")
    parser.add_argument("--skip-subscriptions", action="store_true", help="no subscription measurement")
    parser.add_argument("--only-subscriptions", action="store_true", help="the subscription measurement alone")
    parser.add_argument("--subscribers", type=int, default=1000, help="subscribers of the many-subscriber cases")
    parser.add_argument(
        "--subscriber-processes",
        type=int,
        default=1,
        help="above 1: case (b) again with the subscribers split over this many client processes",
    )
    parser.add_argument(
        "--bystanders", type=int, default=2000, help="end users whom no change concerns, in case (d) (default 2000)"
    )
    parser.add_argument(
        "--hub-sizes",
        type=int,
        nargs="*",
        default=list(hub_scale.SIZES),
        help="subscribers of the change hub measured in process (default 1 10000 100000)",
    )
    return parser.parse_args()


def _subscriptions(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """The subscription section and its notes."""
    mutations = max(5, round(40 * args.scale))
    results, notes = subscriptions.measure(
        args.subscribers, mutations, 5, args.subscriber_processes, args.seed, args.bystanders
    )
    hub = hub_scale.measure(args.hub_sizes, max(20, round(200 * args.scale)))
    return [*subscriptions.report(results), "", *hub_scale.report(hub)], notes


def _groups(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """The grouped-count section and its notes."""
    results, notes = groups.measure(args.instances, args.seed, args.scale)
    return groups.report(results), notes


def main() -> int:
    args = _arguments()
    started = time.perf_counter()
    if args.only_subscriptions:
        section, notes = _subscriptions(args)
        print(f"\ninstance-gateway benchmark (Python {sys.version.split()[0]}): subscriptions only\n")
        print("\n".join([*section, "", *notes, f"total {time.perf_counter() - started:.0f} s"]))
        return 0
    if args.only_groups:
        section, notes = _groups(args)
        print(f"\ninstance-gateway benchmark (Python {sys.version.split()[0]}): grouped counts only\n")
        print("\n".join([*section, "", *notes, f"total {time.perf_counter() - started:.0f} s"]))
        return 0
    generated = make_instances(args.instances, args.seed)
    served = as_served(generated)
    ids = [i["id"] for i in served]
    token = service_owner_token()
    setup = [
        f"data set: {len(generated)} instances generated (seed {args.seed}); the {len(served)} of {ORG}, "
        f"{sum(len(i['data']) for i in served)} data elements, go into the stub in the default order",
        f"caller: service owner {ORG} (HS256 token); the full selection has {leaves(full_page())} leaf fields "
        "per instance",
    ]
    sections: list[list[str]] = []
    notes: list[str] = []
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gateway-bench-")))
        url = stack.enter_context(stub_process())
        env = gateway_env(url)
        began = time.perf_counter()
        imported = import_instances(write_ndjson(served, workdir / "instances.ndjson"), env, workdir)
        setup.append(f"stub: {url}; `instance-gateway import`: {imported} in {time.perf_counter() - began:.1f} s")
        timed = stack.enter_context(gateway_process(env, workdir / "timed"))
        fresh = None if args.skip_memory else stack.enter_context(gateway_process(env, workdir / "fresh"))
        for name, server in (("timed", timed), ("fresh", fresh)):
            if server is not None:
                ready = server.wait_ready()
                setup.append(f"gateway ({name}): `instance-gateway serve` ready {ready:.1f} s after its start")

        pages = asyncio.run(page_cost.measure(timed, url, DATABASE, ids, token, args.scale))
        memory = None if fresh is None else asyncio.run(page_cost.measure_memory(fresh, url, DATABASE, token))
        sections.append(
            [
                "The cost of a page: gateway over HTTP vs. driver read + orjson.dumps, same stub database, "
                "taking turns; medians",
                "",
                *page_cost.report(pages, memory),
            ]
        )
        if not args.skip_in_process and args.in_process_sizes:
            layers, more = asyncio.run(
                in_process.measure(url, DATABASE, token, args.in_process_sizes, args.scale, args.profile)
            )
            sections.append(
                ["Where the time goes, in process (the ASGI app on the same stub):", *in_process.report(layers)]
            )
            notes += more
        if not args.skip_throughput:
            runs = throughput.measure(env, workdir, token, ids[0], args.worker_counts, args.concurrency, args.seconds)
            sections.append(throughput.report(runs, args.concurrency))
    if not args.skip_groups:
        section, more = _groups(args)
        sections.append(section)
        notes += more
    if not args.skip_subscriptions:
        section, more = _subscriptions(args)
        sections.append(section)
        notes += more
    notes.append(f"total {time.perf_counter() - started:.0f} s")

    print(f"\ninstance-gateway benchmark (Python {sys.version.split()[0]})")
    for line in setup:
        print(f"  {line}")
    for section in sections:
        print()
        print("\n".join(section))
    print()
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
