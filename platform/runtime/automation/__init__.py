"""Automations: event and scheduled rules, their actions, notifications and the webhook outbox."""
