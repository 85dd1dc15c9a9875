"""Embedded offline demo policy."""
