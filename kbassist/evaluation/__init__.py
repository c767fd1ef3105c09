"""Evaluation: ask a set of questions through ``answer()`` and measure the answers.

``metrics`` and ``report`` are plain functions (no Django); ``run`` asks the questions;
``manage.py evaluate`` ties them together.
"""
