"""Approvals and the inbox in the pages."""
