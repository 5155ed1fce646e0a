"""Readers that turn files, stdin and inline strings into ``core.types.Inputs``."""
