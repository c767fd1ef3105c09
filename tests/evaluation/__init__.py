"""Specifications of manage.py evaluate and its metrics."""
