"""CSS selectors → XPath, translated and checked once per selector."""

from __future__ import annotations

import functools

import cssselect
from lxml import etree


@functools.lru_cache(maxsize=512)
def _xpath_for(selector: str) -> str:
    if not isinstance(selector, str) or not selector.strip():
        raise ValueError("empty CSS selector")
    try:
        xpath = cssselect.HTMLTranslator().css_to_xpath(selector)
        etree.XPath(xpath)  # what cssselect accepts, libxml2 must compile too
    except cssselect.SelectorError as error:
        raise ValueError(f"invalid CSS selector {selector!r}: {error}") from None
    except (etree.XPathError, RecursionError, ValueError, TypeError) as error:
        raise ValueError(f"unsupported CSS selector {selector!r}: {error}") from None
    return xpath


def check_selector(selector: str) -> None:
    """Raise ValueError with a readable message if `selector` is not a CSS selector we can run."""
    _xpath_for(selector)


def select_all(root: etree._Element, selectors: tuple[str, ...]) -> list[etree._Element]:
    """All elements matching any of `selectors`, in document order (raises ValueError for a bad selector)."""
    if not selectors:
        return []
    union = " | ".join(_xpath_for(selector) for selector in selectors)
    return root.xpath(union)  # an XPath union is a node-set: in document order, without duplicates
