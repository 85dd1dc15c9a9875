"""The floor: the least any Python tool must do — GET every page with 10 threads, lxml.html parse, take the text.

    python bench/floor.py URLS_FILE [--fetch-only]

Prints one JSON line: pages fetched, bytes, text characters. Run as its own process so that its wall time
and peak memory are measured like the tools it is compared with.
"""

from __future__ import annotations

import argparse
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import lxml.etree
import lxml.html
import requests
from requests.adapters import HTTPAdapter

WORKERS = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls")
    parser.add_argument("--fetch-only", action="store_true", help="GET the pages without parsing them")
    args = parser.parse_args()
    with open(args.urls, encoding="utf-8") as handle:
        urls = handle.read().split()

    # One session per thread: requests.Session is not documented as thread-safe, and this is the floor anyway.
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.mount("http://", HTTPAdapter(pool_connections=20, pool_maxsize=20))
        return local.session

    def work(url: str) -> tuple[int, int]:
        body = session().get(url, timeout=30).content
        if args.fetch_only:
            return len(body), 0
        try:
            return len(body), len(lxml.html.fromstring(body).text_content())
        except (lxml.etree.ParserError, ValueError):  # empty or non-HTML pages of the corpus
            return len(body), 0

    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(work, urls))
    print(json.dumps({"pages": len(results), "bytes": sum(r[0] for r in results), "text": sum(r[1] for r in results)}))


if __name__ == "__main__":
    main()
