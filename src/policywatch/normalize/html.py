"""HTML → blocks: parse with lxml, drop page chrome, find the policy text and walk it without recursion."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from operator import itemgetter

from lxml import etree

from policywatch.models import HEADING, ITEM, PARAGRAPH, ROW
from policywatch.normalize.blocks import Block
from policywatch.normalize.chars import clean_text
from policywatch.normalize.css import select_all
from policywatch.normalize.errors import EMPTY, NormalizeError

# Never text of the policy, wherever they are (their tails are kept: they belong to the parent).
_NEVER_TEXT_TAGS = (
    "head", "script", "style", "noscript", "template", "svg", "math", "iframe", "frame", "frameset", "noframes",
    "object", "embed", "applet", "canvas", "video", "audio", "map", "button", "input", "select", "textarea",
    "datalist", "output", "progress", "meter",
)  # fmt: skip
_HEADING_LEVELS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCK_TAGS = frozenset(
    """
    address article aside blockquote body caption center dd details dialog dir div dl dt fieldset figcaption figure
    footer form header hgroup hr html legend li listing main marquee menu nav ol p plaintext pre section summary
    table tbody td tfoot th thead tr ul xmp h1 h2 h3 h4 h5 h6
    """.split()
)
_LIST_TAGS = frozenset({"ul", "ol", "menu", "dir"})

# Element roles in the walk.
_INLINE, _BREAK, _BLOCK, _LIST, _HEADING, _ITEM, _TABLE, _ROW, _CELL = range(9)

# Cookie banners: the consent platforms' own ids and classes, or a cookie word joined to a banner word
# ("cookie-banner", "cookieConsent", "gdpr_popup"). A bare "cookies" is often the id of the policy's own section.
_CONSENT_VENDOR = re.compile(
    r"onetrust-(?:consent|banner|pc)|optanon|ot-sdk|cookiebot|cybotcookie|truste[-_]|trustarc|teconsent|didomi"
    r"|usercentrics|qc-cmp|osano|iubenda|termly|cookieyes|cky-consent|cookie-law-info|cmplz|borlabs|cc-window"
    r"|cc-banner|evidon|sp_message|cookielaw|cookie-script|privacy[-_]banner"
)
_CONSENT_GENERIC = re.compile(
    r"(?:cookie|consent|gdpr)s?[-_]?(?:banner|bar|notice|notification|popup|pop-up|modal|law|alert|overlay"
    r"|message|msg|warning|dialog|box|prompt|consent|wall|disclaimer|accept|layer|settings|manager)"
    r"|(?:banner|bar|notice|popup|modal|alert)[-_]?(?:cookie|consent|gdpr)"
)
_CONSENT_WORD = re.compile(f"cookie|consent|gdpr|{_CONSENT_VENDOR.pattern}")  # finds every candidate of the two
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_CHROME_TAGS = ("nav", "header", "footer", "dialog", "form")
_CHROME_ATTRIBUTES = "//@hidden | //@aria-hidden | //@style | //@role"
_CONTENT_HEADINGS = "boolean(.//h1 | .//h2 | .//h3 | .//h4 | .//h5 | .//h6 | .//*[@role='heading'])"
_TEXT_LENGTH = "string-length(normalize-space())"

# Main content: the first of these that holds this share of the page's text, else the deepest element that
# holds DENSEST_SHARE of it. Link text does not count: menus and link lists are not policy text.
MAIN_SHARE = 0.4
DENSEST_SHARE = 0.75
# Chrome with this much text that is also most of the page's text is a wrapper around the content.
MIN_WRAPPER_CHARS = 2000
# A "table" with a cell this long, a nested table, a heading or a single column is page layout.
LAYOUT_CELL_CHARS = 2000

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_BR = "\x00"  # libxml2 text can never contain NUL, so it can mark <br> in the text buffer
_PARAGRAPH_BREAK = re.compile("\x00\\s*\x00[\\s\x00]*")

_thread_state = threading.local()


def _parser() -> etree.HTMLParser:
    # lxml parsers must not be shared between threads. Plain etree elements: lxml.html's element classes
    # cost a Python call for every element touched.
    parser = getattr(_thread_state, "parser", None)
    if parser is None:
        parser = _thread_state.parser = etree.HTMLParser(
            encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True, default_doctype=False
        )
    return parser


def parse(text: str) -> etree._Element | None:
    """The <html> element of `text`, or None if there is no document at all."""
    try:
        return etree.fromstring(text.encode("utf-8", "replace"), parser=_parser())
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None


def _drop(element: etree._Element) -> None:
    """Remove `element` and its content, but keep its tail text, which belongs to the parent."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        # libxml2 parses control characters that lxml then refuses to set: they are no text anyway.
        if previous is not None:
            previous.tail = _NOT_XML.sub("", (previous.tail or "") + element.tail)
        else:
            parent.text = _NOT_XML.sub("", (parent.text or "") + element.tail)
    parent.remove(element)


def _has_ancestor(element: etree._Element, *tags: str) -> bool:
    return next(element.iterancestors(*tags), None) is not None


def _is_hidden(element: etree._Element) -> bool:
    if element.get("hidden") is not None or (element.get("aria-hidden") or "").strip().lower() == "true":
        return True
    style = element.get("style")
    return style is not None and _HIDDEN_STYLE.search(style) is not None


def _is_cookie_banner(element: etree._Element) -> bool:
    names = f"{element.get('id') or ''} {element.get('class') or ''}".lower()
    return _CONSENT_VENDOR.search(names) is not None or _CONSENT_GENERIC.search(names) is not None


def _is_landmark_chrome(element: etree._Element, chosen: set[etree._Element]) -> bool:
    """Navigation, the page's header or footer, a closed dialog or a form."""
    tag = element.tag
    role = (element.get("role") or "").strip().lower()
    if tag == "nav" or role in ("navigation", "search"):
        return True
    if tag in ("header", "footer") or role in ("banner", "contentinfo"):
        # Inside main, an article, a section or a selected element they are its own title block or notes
        # (HTML scopes them there: only a page-level header is a banner).
        return not _has_ancestor(element, "main", "article", "aside", "section") and not any(
            ancestor in chosen for ancestor in element.iterancestors()
        )
    if tag == "dialog" and element.get("open") is None:
        return True
    # ASP.NET and the like wrap the whole page in one <form>: a form with headings holds content.
    return tag == "form" and not element.xpath(_CONTENT_HEADINGS)


def _chrome_candidates(root: etree._Element) -> list[etree._Element]:
    """Elements that may be chrome, found with C-speed scans (an XPath test per keyword would be far slower)."""
    candidates = list(root.iter(*_CHROME_TAGS))
    candidates += [attribute.getparent() for attribute in root.xpath(_CHROME_ATTRIBUTES)]
    names = root.xpath("//@id | //@class", smart_strings=False)
    if _CONSENT_WORD.search("\n".join(names).lower()):  # cheap test first: most pages have no such name
        candidates += [name.getparent() for name in root.xpath("//@id | //@class") if _CONSENT_WORD.search(name.lower())]
    return list(dict.fromkeys(candidates))


def _drop_chrome(root: etree._Element, chosen: list[etree._Element]) -> None:
    """Drop chrome, cookie banners and hidden elements, except html, body, the `chosen` ones and their ancestors.

    Chrome that holds most of the page's text, and a lot of it, is a wrapper (broken markup, an unlucky class
    name). Hidden elements go only while together they hold a minor part of the text: pages that keep their
    policy in collapsed accordions, or hidden until a script runs, would otherwise lose it. Every decision is
    taken on the whole page before anything is dropped, so the order does not matter.
    """
    half_the_text = root.xpath("string-length(normalize-space(//body))") / 2

    def is_wrapper(element: etree._Element) -> bool:
        length = element.xpath(_TEXT_LENGTH)
        return length > half_the_text and length >= MIN_WRAPPER_CHARS

    selected = set(chosen)
    keep = {ancestor for element in chosen for ancestor in element.iterancestors()}.union(selected)
    candidates = [
        element for element in _chrome_candidates(root) if element not in keep and element.tag not in ("html", "body")
    ]
    doomed = [
        element
        for element in candidates
        if (_is_landmark_chrome(element, selected) or _is_cookie_banner(element)) and not is_wrapper(element)
    ]
    hidden = [element for element in candidates if _is_hidden(element)]
    if sum(element.xpath(_TEXT_LENGTH) for element in _outermost(hidden)) <= half_the_text:
        doomed += hidden
    for element in doomed:
        _drop(element)


def _outermost(elements: list[etree._Element]) -> list[etree._Element]:
    chosen = set(elements)
    return [element for element in elements if not any(ancestor in chosen for ancestor in element.iterancestors())]


def _text_weights(body: etree._Element) -> dict[etree._Element, int]:
    """Characters of non-link text under each element (one pass, no recursion)."""
    weights: dict[etree._Element, int] = {}
    pending = [0]  # running total of each open element
    links_open = 0
    for event, element in etree.iterwalk(body, events=("start", "end")):
        if event == "start":
            if element.tag == "a":
                links_open += 1
            text = element.text
            pending.append(len(text.strip()) if text and not links_open else 0)
        else:
            if element.tag == "a":
                links_open -= 1
            weight = pending.pop()
            weights[element] = weight
            tail = element.tail
            pending[-1] += weight + (len(tail.strip()) if tail and not links_open else 0)
    return weights


def _top_heading_level(element: etree._Element, weights: dict[etree._Element, int]) -> int:
    """The highest level (smallest number) of the headings in `element` that are not just a link."""
    levels = [_HEADING_LEVELS[heading.tag] for heading in element.iter(*_HEADING_LEVELS) if weights.get(heading)]
    return min(levels, default=len(_HEADING_LEVELS) + 1)


def _has_title_before(element: etree._Element, weights: dict[etree._Element, int]) -> bool:
    """Whether a heading before `element`, beside it, outranks all of its own: the title of the text in it.

    A heading that is only a link is the site's logo or a menu entry, not a title.
    """
    own_level = _top_heading_level(element, weights)
    return any(_top_heading_level(sibling, weights) < own_level for sibling in element.itersiblings(preceding=True))


def _densest(body: etree._Element) -> etree._Element:
    """The deepest element that holds DENSEST_SHARE of the page's non-link text, with the title above it."""
    weights = _text_weights(body)
    densest = body
    while True:
        best = max((child for child in densest if child in weights), key=weights.__getitem__, default=None)
        if best is None or weights[best] < DENSEST_SHARE * weights[body] or _has_title_before(best, weights):
            return densest
        densest = best


def _main_content(root: etree._Element) -> etree._Element:
    body = root.find("body")
    if body is None:
        return root
    total = body.xpath(_TEXT_LENGTH)
    for query in ("//main | //*[@role='main']", "//article"):
        sized = [(element.xpath(_TEXT_LENGTH), element) for element in body.xpath(query)]
        best = max(sized, default=None, key=itemgetter(0))
        if best is not None and best[0] >= MAIN_SHARE * total > 0:
            return best[1]
    return _densest(body)


def _layout_tables(root: etree._Element) -> set[etree._Element]:
    """Tables used for page layout, whose cells are read as ordinary blocks instead of rows."""
    layout: set[etree._Element] = set()
    for element in root.iter("table", *_HEADING_LEVELS):
        table = next(element.iterancestors("table"), None)
        if table is not None:
            layout.add(table)
    for table in root.iter("table"):
        if table in layout:
            continue
        cells_per_row = [len(row.findall("td")) + len(row.findall("th")) for row in table.iter("tr")]
        long_cell = table.xpath(f"boolean(.//*[(self::td or self::th) and {_TEXT_LENGTH} > {LAYOUT_CELL_CHARS}])")
        presentation = (table.get("role") or "").lower() in ("presentation", "none")
        if presentation or long_cell or max(cells_per_row, default=0) <= 1:
            layout.add(table)
    return layout


def _container_items(root: etree._Element) -> set[etree._Element]:
    """List items that hold headings or several paragraphs: they are sections laid out as a list."""
    containers: set[etree._Element] = set()
    paragraphs: dict[etree._Element, int] = {}
    for element in root.iter("p", *_HEADING_LEVELS):
        item = next(element.iterancestors("li"), None)
        if item is None:
            continue
        if element.tag != "p":
            containers.add(item)
        else:
            paragraphs[item] = paragraphs.get(item, 0) + 1
            if paragraphs[item] >= 2:
                containers.add(item)
    for element in root.xpath(".//*[@role='heading']"):
        item = next(element.iterancestors("li"), None)
        if item is not None:
            containers.add(item)
    return containers


def _heading_level(element: etree._Element) -> int:
    level = _HEADING_LEVELS.get(element.tag)
    if level is not None:
        return level
    try:
        return min(max(int(element.get("aria-level") or "2"), 1), 6)
    except ValueError:
        return 2


class _BlockWalker:
    """Turns element start/end events into blocks; inline markup never splits text, block elements do."""

    def __init__(self, layout_tables: set[etree._Element], container_items: set[etree._Element]) -> None:
        self.layout_tables = layout_tables
        self.container_items = container_items
        self.blocks: list[Block] = []
        self.parts: list[str] = []  # raw text of the clause being written
        # (kind, heading level, element that opened it) of the clause being written; a cell is kind ROW.
        self.containers: list[tuple[str, int, etree._Element | None]] = [(PARAGRAPH, 0, None)]
        self.data_tables: list[bool] = []  # for each open <table>: read as rows?
        self.row: list[str] | None = None  # cell texts of the open data-table row

    def role(self, element: etree._Element) -> int:
        tag = element.tag
        if not isinstance(tag, str):
            return _INLINE
        if tag in _HEADING_LEVELS or element.get("role") == "heading":
            return _HEADING
        if tag not in _BLOCK_TAGS:
            if tag == "br":
                return _BREAK
            return _BLOCK if "-" in tag else _INLINE  # custom elements are components, laid out as blocks
        if tag == "li":
            return _BLOCK if element in self.container_items else _ITEM
        if tag in _LIST_TAGS:
            return _LIST
        if tag == "table":
            return _TABLE
        in_data_table = bool(self.data_tables) and self.data_tables[-1]
        if tag == "tr" and in_data_table:
            return _ROW
        if tag in ("td", "th") and in_data_table and self.row is not None:
            return _CELL
        return _BLOCK

    def flush(self) -> None:
        kind, level, _ = self.containers[-1]
        if kind == ROW:  # a cell: its text, even empty, keeps the columns in place
            if self.row is not None:
                self.row.append(clean_text("".join(self.parts).replace(_BR, " ")))
            self.parts.clear()
            return
        raw = "".join(self.parts)
        self.parts.clear()
        if not raw or raw.isspace():
            return
        pieces = _PARAGRAPH_BREAK.split(raw) if kind == PARAGRAPH else [raw]
        for piece in pieces:
            text = clean_text(piece.replace(_BR, " "))
            if text:
                self.blocks.append(Block(kind, text, level))

    def block_boundary(self) -> None:
        """A block element ends a paragraph; inside an item, a heading or a cell it is only a space."""
        if self.containers[-1][0] == PARAGRAPH:
            self.flush()
        else:
            self.parts.append(" ")

    def start(self, element: etree._Element, role: int) -> None:
        """Open a non-inline element."""
        if role == _BREAK:
            self.parts.append(_BR if self.containers[-1][0] == PARAGRAPH else " ")
        elif role == _BLOCK or (self.containers[-1][0] == ROW and role != _CELL):  # a cell is one text
            self.block_boundary()
            if role == _TABLE:
                self.data_tables.append(False)
        else:  # a heading, item, list, table, row or cell: the clause before it ends
            self.flush()
            if role == _HEADING:
                self.containers.append((HEADING, _heading_level(element), element))
            elif role == _ITEM:
                self.containers.append((ITEM, 0, element))
            elif role == _TABLE:
                self.data_tables.append(element not in self.layout_tables)
            elif role == _ROW:
                self.row = []
            elif role == _CELL:
                self.containers.append((ROW, 0, element))
        if element.text:
            self.parts.append(element.text)

    def end(self, element: etree._Element, role: int) -> None:
        if role == _TABLE:
            self.data_tables.pop()
        if self.containers[-1][2] is element:
            self.flush()
            self.containers.pop()
        elif role == _ROW and self.row is not None:
            self.flush()
            if any(self.row):
                self.blocks.append(Block(ROW, " | ".join(cell or "-" for cell in self.row)))
            self.row = None
        elif role in (_BLOCK, _LIST, _TABLE):
            self.block_boundary()

    def walk(self, root: etree._Element) -> None:
        roles: list[int] = []  # of the open elements: an element's role must not change between start and end
        parts = self.parts
        for event, element in etree.iterwalk(root, events=("start", "end")):
            if event == "start":
                role = self.role(element)
                roles.append(role)
                if role == _INLINE:  # most elements: only their text matters
                    if element.text:
                        parts.append(element.text)
                else:
                    self.start(element, role)
            else:
                role = roles.pop()
                if role != _INLINE:
                    self.end(element, role)
                if element.tail and element is not root:  # the root's tail is outside what was chosen
                    parts.append(element.tail)
        self.flush()


def extract_blocks(
    text: str, *, select: Sequence[str] = (), remove: Sequence[str] = (), whole_document: bool = False
) -> list[Block]:
    """The blocks of an HTML page: `select`ed elements, else the main content (or the whole body)."""
    root = parse(text)
    if root is None:
        return []
    etree.strip_elements(root, *_NEVER_TEXT_TAGS, with_tail=False)
    for element in select_all(root, tuple(remove)):
        _drop(element)
    chosen = _outermost(select_all(root, tuple(select)))
    if select and not chosen:
        raise NormalizeError(
            EMPTY,
            f"the selector {', '.join(select)!r} matched nothing on the page",
            "check `select` against the page source (View Source, not the browser's inspector: scripts may add it)",
        )
    _drop_chrome(root, chosen)
    if not chosen:
        chosen = [root.find("body") if whole_document else _main_content(root)]
    walker = _BlockWalker(_layout_tables(root), _container_items(root))
    for element in chosen:
        if element is not None:
            walker.walk(element)
    return walker.blocks
