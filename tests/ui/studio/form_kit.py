"""Read a page's form the way a browser submits it, for the studio tests: inputs (checkboxes and
radios only when checked), the selected option of each select (else its first), textareas."""
from __future__ import annotations

import html
from html.parser import HTMLParser


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, list[list[str]]]] = []
        self._select: list | None = None
        self._first: str | None = None
        self._textarea: list | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append((a.get("action", ""), []))
        if not self.forms:
            return
        fields = self.forms[-1][1]
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("submit", "button"):
                return
            fields.append([a["name"], a.get("value", "on" if kind == "checkbox" else "")])
        elif tag == "select" and a.get("name"):
            self._select = [a["name"], None]
            self._first = None
            fields.append(self._select)
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._first is None:
                self._first = value
            if "selected" in a:
                self._select[1] = value
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]
            fields.append(self._textarea)

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            if self._select[1] is None:
                self._select[1] = self._first or ""
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data


class Fields(dict):
    """A form's values by name; a name sent several times (checkboxes) holds a list."""

    def pairs(self) -> list[tuple[str, str]]:
        return [(name, item) for name, value in self.items()
                for item in (value if isinstance(value, list) else [value])]


def form_fields(page: str, action: str) -> Fields:
    """The fields of the first form posting to `action` (CSRF token left out: the kit adds it)."""
    parser = _Forms()
    parser.feed(page)
    for form_action, fields in parser.forms:
        if html.unescape(form_action) == action:
            found = Fields()
            for name, value in fields:
                if name == "csrf_token":
                    continue
                if name in found:
                    found[name] = (found[name] if isinstance(found[name], list) else [found[name]]) + [value]
                else:
                    found[name] = value
            return found
    raise AssertionError(f"no form posts to {action}; forms: {[a for a, _ in parser.forms]}")
