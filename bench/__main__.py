"""Run every benchmark module (`bench/*_bench.py`) or the ones named on the command line.

Every one takes a minute or two, except ``soak`` (30 s of warm-up and 5 minutes of load, about six
minutes in all): ``python -m bench core discord meetings teams`` leaves it out. A benchmark whose
``main`` returns a non-zero number failed its targets; the others still run, and the exit status is 1.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import pkgutil
import sys

import bench


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.endswith("_bench"))
    wanted = [n if n.endswith("_bench") else f"{n}_bench" for n in argv] or names
    for name in wanted:
        if name not in names:
            print(f"no benchmark {name!r}; have: {', '.join(names)}", file=sys.stderr)
            return 2
    failed = []
    for name in wanted:
        print(f"\n=== {name} ===", flush=True)
        entry = importlib.import_module(f"bench.{name}").main
        result = entry()
        if inspect.isawaitable(result):
            result = asyncio.run(result)  # type: ignore[arg-type]
        if isinstance(result, int) and result:
            failed.append(name.removesuffix("_bench"))
    if failed:
        print(f"\nmissed their targets: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
