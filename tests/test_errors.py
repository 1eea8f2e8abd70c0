"""Errors with one root: every exception class Atrium defines derives from AtriumError and says
the HTTP status it maps to, so each web surface needs one handler, not a copy per endpoint."""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

from atrium.errors import AtriumError

PLATFORM = Path(__file__).resolve().parents[1] / "platform"


def atrium_modules():
    for info in pkgutil.walk_packages([str(PLATFORM)], prefix="atrium."):
        yield importlib.import_module(info.name)


def test_every_atrium_exception_derives_from_atrium_error():
    defined = {cls for module in atrium_modules() for _, cls in inspect.getmembers(module, inspect.isclass)
               if issubclass(cls, BaseException) and cls.__module__.startswith("atrium.")}
    assert len(defined) > 30  # the records, access, approval, pool, import, report, studio ... errors
    outside = sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in defined if not issubclass(cls, AtriumError))
    assert outside == []


def test_each_kind_says_its_status_and_its_words():
    from atrium.runtime.access.secured import AccessDenied
    from atrium.runtime.approvals.service import ApprovalRefused
    from atrium.runtime.records.errors import RecordNotFound, StaleRecord, ValidationFailed
    from atrium.runtime.reports.scope import ReportNotFound

    assert (RecordNotFound("deal").status, RecordNotFound("deal").payload()) == (404, {"error": "not_found"})
    assert (ReportNotFound("x").status, ReportNotFound("x").payload()) == (404, {"error": "not_found"})
    assert (AccessDenied("deal").status, AccessDenied("deal").private) == (403, True)
    assert ValidationFailed({"name": ["required"]}).status == 422
    assert ValidationFailed({"name": ["required"]}).payload() == {"errors": {"name": ["required"]}}
    assert StaleRecord({}, "changed").payload() == {"error": "stale", "message": "changed"}
    assert StaleRecord({}, "changed").status == 409
    refusals = {reason: ApprovalRefused(reason, "no").status
                for reason in ("not_approver", "may_not_withdraw", "may_not_request", "bad_decision", "not_pending")}
    assert refusals == {"not_approver": 403, "may_not_withdraw": 403, "may_not_request": 403,
                        "bad_decision": 400, "not_pending": 409}
    assert ApprovalRefused("not_pending", "decided").payload() == {
        "error": "approval", "reason": "not_pending", "message": "decided"}
