"""Processing in worker processes: the same results as in-process, bounded, and never a failed run for it."""

import json
import os

import pytest

from helpers import run_cli, write_config
from policywatch import parallel
from policywatch.core import IN_PROCESS_FIRST
from policywatch.parallel import Processing


def where(n, parent):
    """Module-level, so that worker processes can import it."""
    return n, os.getpid() != parent


def die_in_worker(n, parent):
    if os.getpid() != parent:
        os._exit(1)  # a worker killed mid-call (out of memory, a crash in a C library)
    return n, False


def test_in_process_when_no_processes():
    with Processing(where, (os.getpid(),), processes=0) as processing:
        assert list(processing.map((n,) for n in range(5))) == [(n, False) for n in range(5)]


def test_workers_do_the_calls_and_light_ones_stay_here():
    with Processing(where, (os.getpid(),), processes=2) as processing:
        results = list(processing.map(((n,) for n in range(20)), light=lambda n: n % 5 == 0))
    assert sorted(n for n, _ in results) == list(range(20))
    assert all(elsewhere == (n % 5 != 0) for n, elsewhere in results)


def test_at_most_twice_the_processes_in_flight():
    taken = []

    def calls():
        for n in range(30):
            taken.append(n)
            yield (n,)

    with Processing(where, (os.getpid(),), processes=2) as processing:
        results = processing.map(calls())
        next(results)
        assert len(taken) <= 2 * 2 + 1
        assert len(list(results)) == 29


def test_a_dying_worker_costs_the_parallelism_not_the_results():
    with Processing(die_in_worker, (os.getpid(),), processes=2) as processing:
        results = list(processing.map((n,) for n in range(10)))
    assert sorted(results) == [(n, False) for n in range(10)]


def test_arguments_that_cannot_reach_a_worker_are_handled_here():
    unpicklable = lambda n: n  # noqa: E731 - lambdas do not pickle

    def call(n, shared):
        return shared(n)

    with Processing(call, (unpicklable,), processes=2) as processing:
        assert sorted(processing.map((n,) for n in range(6))) == list(range(6))


def test_processes_only_for_large_runs_on_several_cpus(monkeypatch):
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 2)
    assert parallel.processes_for(parallel.MIN_JOBS - 1) == 0
    assert parallel.processes_for(parallel.MIN_JOBS) == 2
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 1)
    assert parallel.processes_for(10_000) == 0


PAGE = """<html><body><main><h1>{name} privacy policy</h1>
<p>We collect your email address to run the {name} service.</p><p>{extra}</p></main></body></html>"""


def test_large_check_through_workers_reports_like_a_small_one(tmp_path, server):
    if parallel.usable_cpus() < 2:
        pytest.skip("one CPU: check starts no worker processes, so this would test the in-process path twice")
    count = parallel.MIN_JOBS + 4
    ids = [f"site-{n}" for n in range(count)]
    for i in ids:
        server.page(f"/{i}", PAGE.format(name=i, extra="We keep logs for a month."))
    config = write_config(tmp_path / "policies.yaml", [{"id": i, "url": server.url(f"/{i}"), "select": "main"} for i in ids])

    first = run_cli("check", "-c", str(config), "-f", "json")
    assert first.returncode == 0, first.stderr
    assert {p["status"] for p in json.loads(first.stdout)["policies"]} == {"new"}

    # The unchanged pages answer 304 and stay in the parent (light calls); where workers are spawned, the
    # first IN_PROCESS_FIRST changed ones are processed there too: more are changed, so some reach the workers.
    changed = ids[: IN_PROCESS_FIRST + 4]
    risky = "We may use your biometric information to train our artificial intelligence models."
    for i in changed:
        server.page(f"/{i}", PAGE.format(name=i, extra=risky))
    second = run_cli("check", "-c", str(config), "-f", "json")
    policies = {p["id"]: p for p in json.loads(second.stdout)["policies"]}
    assert [i for i in ids if policies[i]["status"] == "changed"] == changed
    assert all(policies[i]["status"] == "unchanged" for i in ids[len(changed) :])
    assert all(change["new"] == risky for i in changed for change in policies[i]["changes"] if change["kind"] == "added")
    assert second.returncode == 1, second.stderr  # the risky findings were classified in the workers


def test_what_check_sends_to_workers_pickles(tmp_path):
    # If it did not, large checks would quietly fall back to one process and lose the speed-up.
    import pickle

    from policywatch.classify import Rulebook
    from policywatch.core import CheckOptions, Known, _check_one
    from policywatch.store import FailedBody, PolicyState, Store

    assert pickle.loads(pickle.dumps((_check_one, Store(tmp_path), Rulebook.load(), CheckOptions())))
    failed = FailedBody("f00d", "settings", "empty", "too little text", "hint")
    known = Known(PolicyState(failed_body=failed), None, failed)
    assert pickle.loads(pickle.dumps(known)) == known  # sent along with each body
