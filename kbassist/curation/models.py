"""What curation keeps beside the chat: one record per answer (who asked what, in which
collections), the sources it cited, and the knowledge gaps its unanswered questions form.

The chat knows nothing of these tables: ``signals.py`` records each new answer, and
``records.backfill()`` records answers made before (or without signals, e.g. bulk loads).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kbassist.chat.models import Message
from kbassist.knowledge.models import FAQ, Collection, Document


class AnswerRecord(models.Model):
    """One answer, as curation sees it: the question, the asker, and the collections it
    concerns (those it cited; with nothing cited, those searched for the asker)."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, primary_key=True, related_name="curation_record")
    asker = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    question = models.TextField()
    language = models.CharField(max_length=8)  # "en" or "zh"
    created_at = models.DateTimeField(db_index=True)
    collections = models.ManyToManyField(Collection, blank=True, related_name="+")
    # Copied from the answer, which never changes them: the dashboard aggregates plain columns.
    kind = models.CharField(max_length=10, blank=True)
    ttft_ms = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "ttft_ms"])]

    def __str__(self):
        return self.question[:80]


class CitedSource(models.Model):
    """A source an answer cited (for the most- and never-cited documents)."""

    record = models.ForeignKey(AnswerRecord, on_delete=models.CASCADE, related_name="cited")
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="+")
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    faq = models.ForeignKey(FAQ, null=True, blank=True, on_delete=models.CASCADE, related_name="+")


class Gap(models.Model):
    """Questions the knowledge base did not answer well, grouped by meaning. A gap keeps its
    identity as questions join it (``gaps.refresh``)."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        RESOLVED = "resolved", _("resolved")
        DISMISSED = "dismissed", _("dismissed")

    class Draft(models.TextChoices):
        NONE = "", _("none")
        QUEUED = "queued", _("being drafted")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    representative = models.TextField(_("representative question"))
    centroid = models.BinaryField()  # float32, unit length, in the space of ``embedder``
    embedder = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    faq = models.ForeignKey(FAQ, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The model's proposed answer (a draft until a curator saves it) and the passages it used.
    draft_status = models.CharField(max_length=8, choices=Draft.choices, default=Draft.NONE, blank=True)
    draft_answer = models.TextField(blank=True)
    draft_passages = models.JSONField(default=list, blank=True)
    draft_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self):
        return self.representative[:80]


class GapQuestion(models.Model):
    """One unanswered (refused, disliked or corrected) answer's question, in its gap."""

    class Reason(models.TextChoices):
        REFUSED = "refused", _("refused")
        DISLIKED = "disliked", _("thumbs down")
        CLAIMS_REMOVED = "claims", _("unsupported claims removed")

    record = models.OneToOneField(AnswerRecord, on_delete=models.CASCADE, related_name="gap_question")
    gap = models.ForeignKey(Gap, on_delete=models.CASCADE, related_name="questions")
    reason = models.CharField(max_length=8, choices=Reason.choices)
    text = models.TextField()  # what was embedded (the question, or its English search query)
    vector = models.BinaryField()
    similarity = models.FloatField(null=True)  # to the gap's centroid when it joined
    joined_at = models.DateTimeField(auto_now_add=True)
    # The question asked again after the gap was resolved (no model): the path and figure.
    rerun_kind = models.CharField(max_length=10, blank=True)
    rerun_detail = models.CharField(max_length=200, blank=True)
    rerun_at = models.DateTimeField(null=True, blank=True)


class Review(models.Model):
    """Who owns a document or an FAQ, and by when it should be read again. Without a row (or
    a date) a source is due ``KB_REVIEW_MONTHS`` after it was added."""

    document = models.OneToOneField(Document, null=True, blank=True, on_delete=models.CASCADE, related_name="review")
    faq = models.OneToOneField(FAQ, null=True, blank=True, on_delete=models.CASCADE, related_name="review")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    owner_group = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    review_by = models.DateField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)  # the owners were told it is due

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(document__isnull=False, faq__isnull=True) | models.Q(document__isnull=True, faq__isnull=False)),
                name="review_of_one_source",
            )
        ]
