"""Limnos: Git for data lakes, speaking the lakeFS REST API v1."""

__version__ = "0.1.0"
