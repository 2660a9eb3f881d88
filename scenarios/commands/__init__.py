"""Subcommands that need nothing beyond this package (``serve``)."""
