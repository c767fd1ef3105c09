"""The knowledge domain: collections of documents and FAQs, cut into chunks.

Chunks in the database are the source of truth for retrieval: every on-disk index is
derived from them (``manage.py rebuild_index``) and can be thrown away at any time.
"""

import hashlib
from pathlib import Path

import numpy as np
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kbassist.text import index_text

from . import freshness


class CollectionQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Collections ``user`` may search: public ones, and those shared with a group of theirs.

        Superusers see everything. Anonymous users see nothing: the assistant needs a login.
        """
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(Q(is_public=True) | Q(groups__in=user.groups.all())).distinct()

    def editable_by(self, user):
        """Collections ``user`` may change the content of (add documents, edit FAQs): those
        whose editor groups include a group of theirs. Superusers may edit every collection.

        This is the per-collection right; the admin also requires the model permission
        (e.g. ``knowledge.add_document``) for each kind of change.
        """
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(editor_groups__in=user.groups.all()).distinct()


class Collection(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_public = models.BooleanField(
        _("visible to everyone"),
        default=True,
        help_text=_("If unticked, only members of the chosen groups (and superusers) can search it."),
    )
    groups = models.ManyToManyField(Group, blank=True, related_name="collections", verbose_name=_("groups"))
    editor_groups = models.ManyToManyField(
        Group,
        blank=True,
        related_name="editable_collections",
        verbose_name=_("editor groups"),
        help_text=_(
            "Members of these groups may upload documents and edit FAQs in this collection "
            "(they also need the matching admin permissions). Superusers may edit every collection."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CollectionQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("collection")
        verbose_name_plural = _("collections")

    def __str__(self):
        return self.name


def document_upload_to(instance, filename):
    return f"documents/{timezone.now():%Y/%m}/{filename}"


def sha256_of(fileobj) -> str:
    digest = hashlib.sha256()
    fileobj.seek(0)
    for block in iter(lambda: fileobj.read(1 << 20), b""):
        digest.update(block)
    fileobj.seek(0)
    return digest.hexdigest()


class Document(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        PROCESSING = "processing", _("processing")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("skipped")  # readable, but nothing to index (``error`` says why)

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(_("title"), max_length=300, blank=True)
    # the words the file says it is about that its own text never uses (a page's front matter
    # "keywords: welcome, letter" for a page titled "Welcome to TTS": "letter"), found by keyword
    # search in each of its passages; set by ingestion
    keywords = models.CharField(_("keywords"), max_length=500, blank=True, editable=False)
    file = models.FileField(_("file"), upload_to=document_upload_to, max_length=500)
    original_name = models.CharField(max_length=300, blank=True)
    source_path = models.CharField(
        max_length=1000, blank=True, help_text=_("Where a command-line import read the file from.")
    )
    sha256 = models.CharField(max_length=64, editable=False)
    size = models.BigIntegerField(default=0, editable=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    stage = models.CharField(max_length=100, blank=True)  # what the worker is doing now: "OCR, page 3 of 12"
    chunk_count = models.PositiveIntegerField(default=0)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ingested_at = models.DateTimeField(null=True, blank=True)
    # While a worker ingests the document it writes this every few seconds (ingestion/heartbeat.py):
    # a "processing" document whose heartbeat went stale lost its worker, and the watchdog
    # (ingestion/watchdog.py) queues it again, or fails it after KB_INGEST_MAX_ATTEMPTS tries.
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)  # ingestions started since it was queued
    # A newer document that replaces this one: a superseded document is never cited (search
    # leaves it out), its successor is.
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="supersedes", verbose_name=_("superseded by")
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "sha256"], name="unique_file_per_collection"),
        ]
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self):
        return self.title or self.original_name or f"Document {self.pk}"

    def get_absolute_url(self):
        """The file itself, served only to users who may see its collection."""
        return reverse("knowledge:document_file", args=[self.pk])

    def fill_file_facts(self):
        """Set name, checksum and size from the attached file (call before saving a new file)."""
        self.sha256 = sha256_of(self.file)
        self.size = self.file.size
        if not self.original_name:
            self.original_name = Path(self.file.name).name

    def set_progress(self, status=None, progress=None, **fields):
        """Write progress fields straight to the row, without touching anything else."""
        if status is not None:
            fields["status"] = status
        if progress is not None:
            fields["progress"] = progress
        fields["updated_at"] = timezone.now()
        if fields.get("status", self.status) == Document.Status.PROCESSING:
            fields.setdefault("heartbeat_at", fields["updated_at"])  # progress is a sign of life too
        Document.objects.filter(pk=self.pk).update(**fields)
        for name, value in fields.items():
            setattr(self, name, value)


class FAQ(models.Model):
    class Origin(models.TextChoices):
        MANUAL = "manual", _("written by hand")
        IMPORT = "import", _("imported from CSV")
        CURATED = "curated", _("promoted from a chat answer")

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="faqs")
    question = models.TextField(_("question"))
    answer = models.TextField(_("answer"))
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["collection", "id"]
        verbose_name = "FAQ"
        verbose_name_plural = "FAQs"

    def __str__(self):
        return self.question[:100]

    @property
    def chunk_text(self) -> str:
        return f"Q: {self.question.strip()}\nA: {self.answer.strip()}"


class Chunk(models.Model):
    """A passage that retrieval can return: a piece of a document, or one whole FAQ entry."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="chunks")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, null=True, blank=True, related_name="chunks")
    faq = models.ForeignKey(FAQ, on_delete=models.CASCADE, null=True, blank=True, related_name="chunks")
    position = models.PositiveIntegerField(default=0)  # order within its document
    text = models.TextField()
    heading = models.CharField(max_length=500, blank=True)  # section path, e.g. "Leave › Sick leave"
    page = models.PositiveIntegerField(null=True, blank=True)  # 1-based, for paged formats
    embedding = models.BinaryField()  # float32, L2-normalised

    class Meta:
        ordering = ["collection_id", "document_id", "position"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(document__isnull=False, faq__isnull=True) | Q(document__isnull=True, faq__isnull=False)),
                name="chunk_has_one_source",
            )
        ]

    def __str__(self):
        return f"{self.source_title} #{self.position}"

    @property
    def vector(self) -> np.ndarray:
        return np.frombuffer(self.embedding, dtype=np.float32)

    @property
    def source_title(self) -> str:
        if self.faq_id:
            return f"FAQ: {self.faq.question[:80]}"
        return str(self.document)

    @property
    def indexed_text(self) -> str:
        """What retrieval indexes (BM25 tokens and the embedding) for this chunk. An FAQ
        chunk's text already holds its question, so it needs no title. (BM25 also indexes its
        document's ``keywords``: ``ingestion.indexing.keywords``.)"""
        return index_text("" if self.faq_id else str(self.document), self.heading, self.text)

    @property
    def location(self) -> str:
        """Human-readable place inside the source: page and/or section."""
        parts = []
        if self.page:
            parts.append(f"p. {self.page}")
        if self.heading:
            parts.append(self.heading)
        return ", ".join(parts)

    def citation(self) -> dict:
        """What the chat shows (and the CLI prints) for this chunk as a source."""
        data = {
            "chunk_id": self.pk,
            "collection": self.collection.name,
            "title": self.source_title,
            "page": self.page,
            "section": self.heading or None,
            "location": self.location,
        }
        if self.faq_id:
            data.update(kind="faq", faq_id=self.faq_id, url=None)
            data.update(freshness.of(self.faq, "faq"))
        else:
            url = self.document.get_absolute_url()
            if self.page:
                url += f"#page={self.page}"
            # A title and a link, never where the file lives on the server.
            data.update(kind="document", document_id=self.document_id, url=url)
            data.update(freshness.of(self.document, "document"))
        return data

