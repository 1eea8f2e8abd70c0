"""What periodic reports refuse, each in the person's language."""
from __future__ import annotations

from typing import Any

from atrium.errors import AtriumError
from atrium.metadata.model import Label
from atrium.runtime.reports.columns import words

NOT_FOUND = words("No such periodic report", "没有这份汇报")
SUBMITTED = words("This report was submitted and can no longer be changed", "这份汇报已提交，不能再修改")
STALE = words("Someone saved this report after you opened it; open it again", "打开后这份汇报已被保存过，请重新打开")
REQUIRED = words("Required before submitting", "提交前必须填写")
NOT_A_NUMBER = words("A number of 0 or more is expected", "请填写不小于 0 的数字")
TOO_LONG = words("At most {limit} characters", "最多 {limit} 个字")


class PeriodicReportError(AtriumError):
    status, code = 400, "periodic_report"

    def __init__(self, why: Label, locale: str = "en", **params: Any):
        self.why, self.params = why, params
        super().__init__(why.text(locale, "en").format(**params))


class PeriodicReportNotFound(PeriodicReportError, LookupError):
    """No such report, period or submitter, or one the caller may not see: the same answer for all."""

    status, code, private = 404, "not_found", True

    def __init__(self, locale: str = "en"):
        super().__init__(NOT_FOUND, locale)


class PeriodicReportLocked(PeriodicReportError):
    """A submitted report is kept as it was submitted."""

    status, code = 409, "submitted"

    def __init__(self, locale: str = "en"):
        super().__init__(SUBMITTED, locale)


class PeriodicReportStale(PeriodicReportError):
    status, code = 409, "stale"

    def __init__(self, locale: str = "en"):
        super().__init__(STALE, locale)


class PeriodicReportInvalid(PeriodicReportError):
    """Field-level errors (`texts.done`, `plan.visits`); nothing was saved."""

    status, code = 422, "invalid"

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        AtriumError.__init__(self, "; ".join(f"{key}: {' '.join(texts)}" for key, texts in errors.items()))

    def payload(self) -> dict[str, Any]:
        return {"errors": self.errors}
