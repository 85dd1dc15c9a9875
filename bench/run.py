"""policywatch at scale, against the floor and urlwatch, on the real pages of ../shared/corpus.

    python bench/run.py                # the full benchmark (a few minutes on 2 cores)
    python bench/run.py --help         # smaller workloads, skipping parts

It serves the corpus pages (each page under --copies different paths: ~1,000 policies) from a throwaway
nginx on 127.0.0.1…127.0.0.20 with ETag and Last-Modified, writes a policies.yaml listing them all, then
times each of these as its own process (wall time, and peak RSS of that process from wait4):

- the floor: GET every page with 10 threads, lxml.html parse, take the text; and the same GETs alone;
- urlwatch 2.29, one job per page with an html2text filter, in a venv of its own, first run (cold);
- policywatch check: cold (empty store), warm (nothing changed), 10% of the pages changed;
- policywatch check cold on 1× and 3× the workload, to show that peak memory stays flat.

Then the diff scaling curve (bench/diff_scaling.py) and normalize + classify throughput (bench/throughput.py).
nginx is installed with apt-get when missing (as root), urlwatch with pip into ~/.cache/policywatch-bench.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import diff_scaling  # noqa: E402
from nginx import Nginx, find_nginx, install_nginx  # noqa: E402
from profiles import py_spy_prefix, summarise  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "pages"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "policywatch-bench"
URLWATCH = "urlwatch==2.29"
CHANGED_SHARE = 0.10
# Put into every changed page at the end of its middle paragraph, so it lands inside the policy text.
RISKY_SENTENCE = b" We may use your biometric information to train our artificial intelligence models."


@dataclass
class Run:
    label: str
    seconds: float
    cpu_seconds: float  # user + system, of the process and the workers it waited for
    peak_rss_mb: float
    returncode: int
    stdout: str = ""
    notes: list[str] = field(default_factory=list)


def measure(label: str, command: list[str], env: dict | None = None, ok: tuple[int, ...] = (0,)) -> Run:
    """Run a command as a child process: wall time, and the peak RSS of that child alone (reaped with wait4)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if returncode not in ok:
        raise SystemExit(f"{label}: {' '.join(command)} exited {returncode}:\n{stderr[-3000:]}")
    run = Run(label, seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, returncode, stdout)
    print(f"  {label}: {seconds:.2f} s, CPU {run.cpu_seconds:.2f} s, peak RSS {run.peak_rss_mb:.0f} MB", file=sys.stderr)
    return run


# --- the workload ---------------------------------------------------------------------------------------


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")[:80] or "page"


@dataclass
class Workload:
    """The pages of the corpus linked `copies` times into an nginx docroot as /c<copy>/<page>."""

    pages: list[Path]
    docroot: Path
    copies: int

    def build(self) -> None:
        for copy in range(1, self.copies + 1):
            folder = self.docroot / f"c{copy}"
            folder.mkdir(parents=True, exist_ok=True)
            for page in self.pages:
                (folder / page.name).symlink_to(page)

    def policies(self, nginx: Nginx, copies: int) -> list[tuple[str, str, Path]]:
        """(id, url, served file) for the first `copies` copies, spread round-robin over nginx's hosts."""
        entries = []
        for copy in range(1, copies + 1):
            for page in self.pages:
                path = f"c{copy}/{page.name}"
                entries.append((f"c{copy}-{slug(page.stem)}", f"http://{nginx.host(len(entries))}/{path}", self.docroot / path))
        return entries

    def change(self, entries: list[tuple[str, str, Path]], share: float) -> int:
        """Replace every 1/share-th served page by a copy with one risky sentence added; returns how many."""
        step = round(1 / share)
        changed = 0
        for _, _, served in entries[::step]:
            body = served.read_bytes()
            ends = [m.start() for m in re.finditer(rb"</p>", body, re.IGNORECASE)]
            cut = ends[len(ends) // 2] if ends else len(body)
            served.unlink()
            served.write_bytes(body[:cut] + RISKY_SENTENCE + body[cut:])
            changed += 1
        return changed

    def restore(self, entries: list[tuple[str, str, Path]]) -> None:
        """Undo change(): every served page links to its corpus page again."""
        originals = {page.name: page for page in self.pages}
        for _, _, served in entries:
            if not served.is_symlink():
                served.unlink()
                served.symlink_to(originals[served.name])


def write_policies(path: Path, entries: list[tuple[str, str, Path]]) -> Path:
    policies = [{"id": policy_id, "url": url} for policy_id, url, _ in entries]
    path.write_text(yaml.safe_dump({"policies": policies}, sort_keys=False), encoding="utf-8")
    return path


def write_urls(path: Path, entries: list[tuple[str, str, Path]]) -> Path:
    path.write_text("\n".join(url for _, url, _ in entries) + "\n", encoding="utf-8")
    return path


# --- the tools ------------------------------------------------------------------------------------------


def policywatch(label: str, config: Path, store: Path, nginx: Nginx, extra: list[str], profile: Path | None) -> Run:
    report = store.with_suffix(".json")
    nginx.statuses_since_last_call()
    profiler = py_spy_prefix(profile / f"{slug(label)}.txt") if profile else []
    run = measure(
        label,
        [*profiler, sys.executable, "-m", "policywatch", "check", "-c", str(config), "--store", str(store), "-f", "json", "-o", str(report), "-q", *extra],
        ok=(0, 1, 3),  # risky findings and failing pages of the corpus are expected
    )
    summary = json.loads(report.read_text(encoding="utf-8"))["summary"]
    statuses = ", ".join(f"{count} {name}" for name, count in summary["statuses"].items() if count)
    answered = ", ".join(f"{count}×{code}" for code, count in sorted(nginx.statuses_since_last_call().items()))
    run.notes.append(f"{statuses}; nginx answered {answered}")
    return run


def urlwatch_program(log) -> Path | None:
    """urlwatch 2.29 in a venv of its own, installed on first use; None (and why, on log) when impossible."""
    venv = CACHE / "urlwatch-2.29"
    python, program = venv / "bin" / "python", venv / "bin" / "urlwatch"
    if program.exists() and subprocess.run([program, "--version"], capture_output=True).returncode == 0:
        return program
    print(f"  installing {URLWATCH} into {venv} …", file=log)
    steps = ([sys.executable, "-m", "venv", str(venv)], [str(python), "-m", "pip", "install", "-q", URLWATCH])
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True)
        if result.returncode != 0:
            print(f"  cannot install urlwatch ({' '.join(step)}): {result.stderr.strip()[-500:]}", file=log)
            return None
    return program


def urlwatch(program: Path, entries: list[tuple[str, str, Path]], folder: Path) -> Run:
    """urlwatch's first run over every page: one job each, html2text filter, its own config, cache and home."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [{"name": policy_id, "url": url, "filter": [{"html2text": {}}]} for policy_id, url, _ in entries]
    (folder / "urls.yaml").write_text(yaml.safe_dump_all(jobs, sort_keys=False), encoding="utf-8")
    env = {**os.environ, "HOME": str(folder), "XDG_CONFIG_HOME": str(folder), "XDG_CACHE_HOME": str(folder)}
    command = [
        str(program),
        "--urls", str(folder / "urls.yaml"), "--config", str(folder / "urlwatch.yaml"),
        "--hooks", str(folder / "hooks.py"), "--cache", str(folder / "cache.db"),
    ]  # fmt: skip
    # Its first start writes a default config: done before timing, like policywatch's config is written.
    subprocess.run([*command, "--list"], env=env, capture_output=True, check=True)
    return measure("urlwatch 2.29 cold", command, env=env)


# --- the report -----------------------------------------------------------------------------------------


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "–"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def table(rows: list[tuple[str, Run, str, str]]) -> str:
    lines = ["| measure | wall s | CPU s | peak RSS MB | ratio | target |", "|---|---:|---:|---:|---|---|"]
    for name, run, versus, target in rows:
        lines.append(f"| {name} | {run.seconds:.2f} | {run.cpu_seconds:.2f} | {run.peak_rss_mb:.0f} | {versus} | {target} |")
    return "\n".join(lines)


@dataclass
class Results:
    fetch_only: Run
    floor: Run
    rival: Run | None
    cold: Run
    warm: Run
    changed: Run
    changed_pages: int
    memory: list[tuple[int, Run]]  # (policies, cold run) at each scale


def fastest(runs: list[Run]) -> Run:
    """The least disturbed of repeated runs (a shared machine only ever adds time)."""
    return min(runs, key=lambda run: run.seconds)


def measure_all(args, root: Path, workload: Workload, nginx: Nginx, scale: list[int], log) -> tuple[list, Results]:
    entries = workload.policies(nginx, args.copies)
    config = write_policies(root / "policies.yaml", entries)
    urls = write_urls(root / "urls.txt", entries)
    extra = args.check_args.split()
    program = None if args.no_urlwatch else urlwatch_program(log)
    memory: list[tuple[int, Run]] = []
    for copies in (c for c in scale if c != args.copies):
        subset = workload.policies(nginx, copies)
        subset_config = write_policies(root / f"policies-{copies}.yaml", subset)
        memory.append((len(subset), policywatch(f"policywatch cold, {len(subset)} policies", subset_config, root / f"store-{copies}", nginx, extra, args.profile)))
    rounds: dict[str, list[Run]] = {}
    changed_pages = 0
    for attempt in range(1, args.repeat + 1):
        print(f"round {attempt} of {args.repeat} (load average {os.getloadavg()[0]:.1f})", file=log)
        runs = {
            "fetch_only": measure("floor: GET only", [sys.executable, str(BENCH / "floor.py"), str(urls), "--fetch-only"]),
            "floor": measure("floor: GET + lxml parse + text", [sys.executable, str(BENCH / "floor.py"), str(urls)]),
        }
        nginx.statuses_since_last_call()
        if program:
            runs["rival"] = urlwatch(program, entries, root / f"urlwatch-{attempt}")
        store = root / f"store-round-{attempt}"
        runs["cold"] = policywatch("policywatch cold", config, store, nginx, extra, args.profile)
        runs["warm"] = policywatch("policywatch warm", config, store, nginx, extra, args.profile)
        changed_pages = workload.change(entries, CHANGED_SHARE)
        runs["changed"] = policywatch(f"policywatch {changed_pages} pages changed", config, store, nginx, extra, args.profile)
        workload.restore(entries)
        for name, run in runs.items():
            rounds.setdefault(name, []).append(run)
    best = {name: fastest(runs) for name, runs in rounds.items()}
    memory.append((len(entries), best["cold"]))
    return entries, Results(best["fetch_only"], best["floor"], best.get("rival"), best["cold"], best["warm"], best["changed"], changed_pages, sorted(memory, key=lambda item: item[0]))


def report(args, entries: list, pages: list[Path], size_mb: float, binary: str, results: Results, load: tuple[float, float]) -> None:
    r = results
    per_changed = (r.changed.seconds - r.warm.seconds) / max(r.changed_pages, 1)
    per_cold = r.cold.seconds / len(entries)
    rows = [
        ("floor: GET only (10 threads)", r.fetch_only, "", ""),
        ("floor: GET + lxml.html parse + text", r.floor, "", ""),
    ]
    cold_target = f"≤ 3× floor: {verdict(r.cold.seconds <= 3 * r.floor.seconds)}"
    if r.rival is not None:
        # html2text's default method is 're': tags stripped by regular expressions, no parse at all.
        rows.append(("urlwatch 2.29, html2text (method re), cold", r.rival, f"{ratio(r.rival.seconds, r.floor.seconds)} floor", ""))
        cold_target += f"; ≥ 3× faster than urlwatch: {verdict(r.rival.seconds >= 3 * r.cold.seconds)}"
    rival_ratio = f"; urlwatch takes {ratio(r.rival.seconds, r.cold.seconds)} as long" if r.rival else ""
    rows += [
        ("policywatch check, cold", r.cold, f"{ratio(r.cold.seconds, r.floor.seconds)} floor{rival_ratio}", cold_target),
        ("policywatch check, warm (nothing changed)", r.warm, f"{ratio(r.warm.seconds, r.fetch_only.seconds)} GET-only floor",
         f"≤ 1.5× GET-only floor: {verdict(r.warm.seconds <= 1.5 * r.fetch_only.seconds)}"),
        (f"policywatch check, {r.changed_pages} pages (10%) changed", r.changed,
         f"+{per_changed * 1000:.1f} ms per changed page over warm (cold: {per_cold * 1000:.1f} ms per page)",
         f"grows with the changed share: {verdict(r.changed.seconds <= r.warm.seconds + CHANGED_SHARE * 3 * (r.cold.seconds - r.warm.seconds))}"),
    ]  # fmt: skip
    print()
    print(
        f"Workload: {len(entries)} policies = {len(pages)} pages of {args.corpus} × {args.copies} paths, {size_mb:.1f} MB, "
        f"served by nginx ({binary}) on {args.hosts} loopback hosts; {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"fastest of {args.repeat} round(s); load average {load[0]:.1f} before, {load[1]:.1f} after."
    )
    print()
    print(table(rows))
    print()
    for _, run, _, _ in rows:
        for note in run.notes:
            print(f"- {run.label}: {note}")
    if len(r.memory) > 1:
        print()
        print("Peak RSS of a cold check by number of policies: " + ", ".join(f"{n}: {run.peak_rss_mb:.0f} MB" for n, run in r.memory))
    for profile in sorted(args.profile.glob("*.txt")) if args.profile else []:
        print()
        print(summarise(profile))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help=f"folder of HTML pages (default {DEFAULT_CORPUS})")
    parser.add_argument("--pages", type=int, help="use only the first N pages")
    parser.add_argument("--copies", type=int, default=3, help="paths per page (default 3: ~1,000 policies)")
    parser.add_argument("--hosts", type=int, default=20, choices=range(1, 21), metavar="1-20", help="loopback hosts (default 20)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the timed runs; the fastest of each is reported")
    parser.add_argument("--no-urlwatch", action="store_true", help="skip urlwatch")
    parser.add_argument("--no-memory", action="store_true", help="skip the 1× / 3× peak-memory runs")
    parser.add_argument("--diff-sizes", default="1000,10000,100000", help="clause counts of the diff curve ('' to skip)")
    parser.add_argument("--no-throughput", action="store_true", help="skip the normalize + classify throughput")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="record each policywatch check with py-spy into DIR and summarise")
    parser.add_argument("--check-args", default="", help="extra arguments for every policywatch check (e.g. '--workers 16')")
    args = parser.parse_args()
    log = sys.stderr
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)

    if not args.corpus.is_dir():
        print(
            f"The corpus is absent: {args.corpus} does not exist.\n"
            "The fetch/check benchmarks need real pages: put the shared corpus at ../shared/corpus (see its README)\n"
            "or pass --corpus FOLDER_OF_HTML_PAGES. Running only the parts that need no corpus (diff scaling).",
            file=log,
        )
        if args.diff_sizes:
            print(diff_scaling.report([int(n) for n in args.diff_sizes.split(",")]))
        return 2
    # Absolute paths: the docroot links to them from a temp folder.
    pages = sorted(p.resolve() for p in args.corpus.iterdir() if p.suffix.lower() in (".html", ".htm"))[: args.pages]
    binary = find_nginx() or install_nginx()
    if binary is None:
        print("nginx is needed: run `apt-get update && apt-get install -y nginx-light` (as root) and try again.", file=log)
        return 2

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="policywatch-bench-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)
        scale = [1, args.copies, 3 * args.copies] if not args.no_memory else [args.copies]
        workload = Workload(pages, root / "docroot", max(scale))
        workload.build()
        with Nginx(binary, workload.docroot, root / "nginx", hosts=args.hosts) as nginx:
            entries = workload.policies(nginx, args.copies)
            size_mb = sum(served.stat().st_size for _, _, served in entries) / 1e6
            print(f"workload: {len(entries)} policies ({len(pages)} pages × {args.copies} paths), {size_mb:.1f} MB", file=log)
            entries, results = measure_all(args, root, workload, nginx, scale, log)
    report(args, entries, pages, size_mb, binary, results, (load_before, os.getloadavg()[0]))
    if args.diff_sizes:
        print()
        print(diff_scaling.report([int(n) for n in args.diff_sizes.split(",")]))
    if not args.no_throughput:
        command = [sys.executable, str(BENCH / "throughput.py"), "--corpus", str(args.corpus), *(["--pages", str(args.pages)] if args.pages else [])]
        print()
        print(measure("throughput", command).stdout.rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
