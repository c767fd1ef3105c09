"""Guard rails: limits that hold under abuse, each a setting with a default and a message.

Plain functions, used by the chat (websocket, views), ingestion and any other door in:

  limits     rate limits in the shared cache (django-ratelimit): ``check_question_rate``,
             ``check_request_rate``, ``check_anonymous_rate``; ``too_many_requests`` turns a
             ``Refusal`` into an HTTP 429 (what a REST API returns)
  slots      ``answer_slot(user)``: at most one answer waiting or streaming per user, across
             tabs and processes
  frames     ``read_frame``: a websocket text frame as a JSON object, or ``BadFrame``
  documents  ``too_large(pages=, chars=)``: the per-document page/character cap
  words      the sensitive-word lists (``SensitiveWord``, in the admin): ``find_sensitive`` for
             questions, ``AnswerScreen`` for answers as they stream
  pii        ``redact(text)``: e-mail addresses, phone numbers, Chinese resident ID numbers
             and payment-card numbers masked; ``for_storage`` applies it when KB_REDACT_PII is on
  record     ``record_guard``: the one place a guard that fired is recorded (the log now; the
             audit trail's call site)

This package sits beside ``knowledge`` and ``llm`` in the layers (``.importlinter``): it
uses neither, and never the language model.
"""
