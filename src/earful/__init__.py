"""Earful: a self-hosted social-listening mention tracker."""

__version__ = "0.1.0"
