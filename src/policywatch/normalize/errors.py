"""The one exception the normalize stage raises about a page's content."""

from __future__ import annotations

EMPTY = "empty"
NOT_A_POLICY = "not-a-policy"

_DEFAULT_MESSAGES = {
    EMPTY: "the page has too little text to be a policy",
    NOT_A_POLICY: "the content is not a readable HTML, Markdown or text page",
}
_DEFAULT_HINTS = {
    EMPTY: "open the URL in a browser: if the text only appears with JavaScript, point `url` at a static version "
    "or an archive of the policy; otherwise check the `select` / `remove` selectors",
    NOT_A_POLICY: "point `url` at the HTML or text version of the policy (PDFs, images and binary files are not read)",
}


class NormalizeError(Exception):
    """A page that yields no clauses.

    `kind` is EMPTY (the selector matched nothing, or too little text) or NOT_A_POLICY (a PDF, an image,
    binary junk); `hint` is one line telling the user what to do.
    """

    def __init__(self, kind: str, message: str = "", hint: str = "") -> None:
        self.kind = kind
        self.message = message or _DEFAULT_MESSAGES.get(kind, kind)
        self.hint = hint or _DEFAULT_HINTS.get(kind, "")
        super().__init__(self.message)

    def __reduce__(self):  # keep kind and hint across process pools
        return (type(self), (self.kind, self.message, self.hint))

    def __repr__(self) -> str:
        return f"NormalizeError({self.kind!r}, {self.message!r}, {self.hint!r})"
