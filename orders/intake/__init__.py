"""Intake channel adapters: each turns its input into an OrderRequest (or GradingSubmission) and
calls the one order service."""
