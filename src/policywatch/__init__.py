"""policywatch: watch privacy policies and terms for risky changes, clause by clause."""

__version__ = "0.1.0"
