"""The root of every error Atrium raises on purpose.

`AtriumError` sits at the bottom of the import graph (it imports nothing of Atrium), so metadata,
runtime and ui all derive their errors from it. Each error says how a web surface answers it:
`status` is the HTTP status, `code` the stable word for its kind (the JSON API's `"error"`, the
pages' notice), and `private` whether its text is for logs only (an entity name, an id) so that
the surfaces show their own word for `code` instead. `payload()` is what the API sends.

The status belongs to the error, not to whoever catches it: the pages and the API each have one
handler (ui/web/errors.py, ui/api/errors.py) that turns any AtriumError into a response.
"""
from __future__ import annotations

from typing import Any


class AtriumError(Exception):
    """Subclasses set `status`, `code` and `private` as class attributes (or properties when the
    answer depends on the instance, as an approval's refusal does on its reason)."""

    status: int = 500
    code: str = "error"
    private: bool = False

    def payload(self) -> dict[str, Any]:
        """The JSON body: the kind, and the text when a person may read it."""
        return {"error": self.code} if self.private else {"error": self.code, "message": str(self)}

