"""The benchmark works end to end on a tiny workload (our own fixture pages): nginx, the floor, every check.

No timing is asserted: the figures belong in BENCHMARKS.md, measured by `python bench/run.py`.
"""

import re
import subprocess
import sys

import pytest

from helpers import FIXTURES, REPO

sys.path.insert(0, str(REPO / "bench"))
from nginx import find_nginx  # noqa: E402

pytestmark = pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed (the benchmark installs it as root)")


def test_benchmark_runs_on_a_tiny_workload_and_its_warm_run_is_all_304():
    result = subprocess.run(
        [
            sys.executable, str(REPO / "bench" / "run.py"),
            "--corpus", str(FIXTURES / "pages"), "--copies", "2", "--hosts", "3",
            "--no-urlwatch", "--diff-sizes", "100,1000",
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    pages = len(list((FIXTURES / "pages").glob("*.html")))
    assert f"{2 * pages} policies = {pages} pages" in out
    rows = (r"floor: GET \+ lxml\.html parse \+ text", "policywatch check, cold", "policywatch check, warm", r"policywatch check, 1 pages \(10%\) changed")
    for row in rows:
        assert re.search(rf"^\| {row}.* \| \d+\.\d\d \| \d+\.\d\d \| \d+ \|", out, re.MULTILINE), row
    # Every page came back as a 304: the stored ones, and the ones that failed (asked with their own ETag).
    warm = re.search(r"- policywatch warm: .*; nginx answered (.*)", out).group(1)
    assert warm == f"{2 * pages}×304"
    assert "Peak RSS of a cold check by number of policies" in out
    assert re.search(r"^\| shuffled \(all moved\) \| [\d,]+ ms \| [\d,]+ ms \|", out, re.MULTILINE)
    assert "| normalize + dump + classify |" in out
