"""The store survives SIGKILL at any moment and two runs at once, with real `policywatch check` processes."""

import os
import random
import signal
import subprocess
import sys
import threading
import time

from helpers import Route, run_cli, write_config
from policywatch.maintenance import verify
from policywatch.store import Store

POLICIES = 12
KILLS = 15
SEED = 20261125  # fixed, so that a failure can be replayed; the kill moments still spread over the run


def page(policy: int, round_: int) -> str:
    """A policy page that grows by one sentence per round (a real change, never a suspicious shrink)."""
    paragraphs = "".join(
        f"<p>Clause {n} of policy {policy}: we process category {n} data for purpose {n * 7 % 13}.</p>" for n in range(100)
    )
    rounds = "".join(f"<p>Update {r}: we keep logs of kind {r} for {r + 30} days.</p>" for r in range(round_))
    return f"<html><body><main><h1>Policy {policy}</h1><h2>Terms</h2>{paragraphs}<h2>Updates</h2>{rounds}</main></body></html>"


def spawn_check(config, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "policywatch", "check", "-c", str(config), "-q", "--fail-on", "none", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )


def wait_for_lock(store_root, processes, limit=60.0):
    """Block until one of `processes` holds the store's lock (its pid is in the lock file); returns it."""
    lock = store_root / ".lock"
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        holder = lock.read_text().strip() if lock.exists() else ""
        for process in processes:
            # A quick run may also end before its pid is seen: the lock file then says it finished.
            if holder == str(process.pid) or process.poll() == 0:
                return process
            assert process.poll() is None, process.stderr.read()
        time.sleep(0.005)
    raise AssertionError("no check took the lock")


def signal_all(processes, signum):
    for process in processes:
        process.send_signal(signum)


def test_sigkill_at_random_moments_never_leaves_a_half_written_version(tmp_path, server):
    rng = random.Random(SEED)
    policies = [{"id": f"p{n:02d}", "url": server.page(f"/p{n}", page(n, 0)), "select": "main"} for n in range(POLICIES)]
    config = write_config(tmp_path / "policies.yaml", policies)
    store = Store(tmp_path / "snapshots")

    # A full run measures how long the store is being written, so the kills land inside that window.
    first = spawn_check(config)
    locked = time.monotonic() if wait_for_lock(store.root, [first]) else None
    assert first.wait(timeout=120) == 0, first.stderr.read()
    window = time.monotonic() - locked

    # Two successors always start up in advance and wait for the lock (--wait), so that the next victim
    # takes over right after a kill instead of paying Python's start-up time each round.
    waiting = [spawn_check(config, "--wait", "120") for _ in range(2)]
    for round_ in range(1, KILLS + 1):
        victim = wait_for_lock(store.root, waiting)
        waiting.remove(victim)
        if round_ + len(waiting) < KILLS:  # as many successors as kills remain
            waiting.append(spawn_check(config, "--wait", "120"))
        time.sleep(rng.uniform(0, window))
        signal_all(waiting, signal.SIGSTOP)  # nobody touches the store until it is verified
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)

        # Whatever the moment, every version folder is whole and matches its hashes; the only traces of
        # the kill are temp leftovers and a latest.md one version behind, which the next check repairs.
        problems = verify(store).problems
        leftovers = [p for p in problems if "interrupted" in p.message]
        assert leftovers == problems, [f"{p.path}: {p.message}" for p in problems if p not in leftovers]
        for n in range(POLICIES):  # a real change for the next victim to record
            server.page(f"/p{n}", page(n, round_))
        signal_all(waiting, signal.SIGCONT)

    assert not waiting
    final = run_cli("check", "-c", str(config), "--fail-on", "none")
    assert final.returncode == 0, final.stderr
    clean = run_cli("verify", "-c", str(config))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 problems" in clean.stderr
    for n in range(POLICIES):
        versions = store.versions(f"p{n:02d}")
        assert versions and f"Update {KILLS - 1}:" in store.load_text(versions[-1])  # the last round's page
        assert (store.root / f"p{n:02d}" / "latest.md").read_text() == store.load_text(versions[-1])


def gated_page(gate):
    """A page that is served only once `gate` is set: the run fetching it holds the lock until then."""

    def handler(request):
        gate.wait(timeout=60)
        body = page(0, 0).encode()
        try:
            request.send_response(200)
            request.send_header("Content-Type", "text/html")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except OSError:
            pass  # the run holding this request was killed

    return handler


def test_second_run_exits_naming_the_pid_or_waits_and_a_killed_holder_never_blocks(tmp_path, server):
    gate = threading.Event()
    server.routes["/slow"] = Route(handler=gated_page(gate))
    config = write_config(tmp_path / "policies.yaml", [{"id": "slow", "url": server.url("/slow")}])
    store_root = tmp_path / "snapshots"

    holder = spawn_check(config)
    wait_for_lock(store_root, [holder])
    refused = run_cli("check", "-c", str(config))
    assert refused.returncode == 3
    assert f"pid {holder.pid}" in refused.stderr and "--wait" in refused.stderr

    waiting = spawn_check(config, "--wait", "60", "-f", "json")
    time.sleep(1.5)  # let it reach the lock; if it is slower, it simply finds the lock free
    gate.set()
    assert holder.wait(timeout=60) == 0
    output, errors = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, errors
    assert '"unchanged"' in output  # it ran after the holder recorded the baseline

    gate.clear()
    stale = spawn_check(config)
    wait_for_lock(store_root, [stale])
    stale.send_signal(signal.SIGKILL)  # killed while it holds the lock, waiting for the page
    stale.wait(timeout=30)
    gate.set()
    assert (store_root / ".lock").read_text().strip() == str(stale.pid)
    after = run_cli("check", "-c", str(config))
    assert after.returncode == 0, after.stderr


def test_ctrl_c_starts_no_more_fetches_and_leaves_a_clean_store(tmp_path, server):
    gate = threading.Event()
    for n in range(6):
        server.routes[f"/slow{n}"] = Route(handler=gated_page(gate))
    policies = [{"id": f"slow{n}", "url": server.url(f"/slow{n}"), "timeout": 2} for n in range(6)]
    config = write_config(tmp_path / "policies.yaml", policies)
    check = subprocess.Popen(
        [sys.executable, "-m", "policywatch", "check", "-c", str(config), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as at a terminal, even under a CI shell
    )
    deadline = time.monotonic() + 60
    while len(server.requests) < 2 and time.monotonic() < deadline:  # both workers wait on a page
        assert check.poll() is None, check.stderr.read()
        time.sleep(0.01)
    check.send_signal(signal.SIGINT)
    _, stderr = check.communicate(timeout=60)  # the two running fetches end at their 2-second timeout
    gate.set()
    assert check.returncode == 130 and "interrupted" in stderr and "Traceback" not in stderr, stderr
    assert len(server.requests) == 2  # the four queued policies were never fetched
    clean = run_cli("verify", "-c", str(config))
    assert clean.returncode == 0, clean.stdout + clean.stderr
