"""Facts in plain text, with nothing about chat: numbers (``numbers``), values with their
units (``quantities``), the conditions rows and questions are about (``conditions``), the
units a source splits into (``units``), named terms (``terms``), what a question asks
(``questions``), markup (``markup``) and offsets (``spans``).

Pure Python: imports nothing from the project but ``kbassist.text`` and
``kbassist.retrieval.tokenize``, and never Django.
"""
