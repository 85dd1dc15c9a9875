"""Normalize + classify throughput over every stored page (what `reprocess` of the whole corpus does), in MB/s,
next to a bare lxml.html parse of the same bytes.

Stages are timed in CPU seconds of this (single-threaded) process, so that other work on a shared machine does
not slow the figures down; on an idle machine they equal wall time.

    python bench/throughput.py [--corpus ../shared/corpus/pages] [--pages N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import lxml.etree
import lxml.html

from policywatch import clausetext
from policywatch.classify import Rulebook
from policywatch.normalize import NormalizeError, normalize

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pages"


def lxml_parse(body: bytes) -> None:
    try:
        lxml.html.document_fromstring(body)
    except (lxml.etree.ParserError, ValueError):  # empty pages of the corpus
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--pages", type=int)
    args = parser.parse_args()
    pages = sorted(p for p in args.corpus.iterdir() if p.suffix.lower() in (".html", ".htm"))[: args.pages]
    bodies = [(page.as_uri(), page.read_bytes()) for page in pages]
    megabytes = sum(len(body) for _, body in bodies) / 1e6
    rulebook = Rulebook.load()

    start = time.process_time()
    for _, body in bodies:
        lxml_parse(body)
    parse_seconds = time.process_time() - start

    start = time.process_time()
    documents = []
    for url, body in bodies:
        try:
            documents.append(normalize(body, content_type="text/html", url=url))
        except NormalizeError:
            pass
    normalize_seconds = time.process_time() - start

    start = time.process_time()
    stored = [clausetext.dump(clauses) for clauses in documents]
    dump_seconds = time.process_time() - start

    start = time.process_time()
    matched = sum(1 for clauses in documents for scanned in rulebook.scan(clauses) if scanned.matches)
    classify_seconds = time.process_time() - start

    clauses = sum(len(c) for c in documents)
    text_mb = sum(len(text.encode("utf-8")) for text in stored) / 1e6
    total = normalize_seconds + dump_seconds + classify_seconds
    rows = [
        ("lxml.html parse only", parse_seconds),
        ("normalize (parse, drop chrome, clauses)", normalize_seconds),
        ("clausetext dump (stored text)", dump_seconds),
        (f"classify ({clauses:,} clauses, {matched:,} matching a rule)", classify_seconds),
        ("normalize + dump + classify", total),
    ]
    print(f"Throughput over {len(bodies)} pages, {megabytes:.1f} MB of HTML → {len(documents)} documents, {text_mb:.1f} MB of clause text:")
    print()
    print("| stage | CPU seconds | MB/s of HTML | vs lxml parse |")
    print("|---|---:|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} | {megabytes / seconds:.1f} | {seconds / parse_seconds:.1f}× |")


if __name__ == "__main__":
    main()
