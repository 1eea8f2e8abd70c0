"""Approvals: records that wait for someone's decision (`require_approval`)."""
