"""Source files and passages, served only to users who may see their collection; each one
served (and each one refused) is an audit event."""

import mimetypes

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404

from kbassist import audit
from kbassist.audit import Kind, Role

from .auditing import chunk_subject, document_subject
from .models import Chunk, Collection, Document


def _visible_or_404(request, collection_id, subject: audit.Subject):
    if not Collection.objects.visible_to(request.user).filter(pk=collection_id).exists():
        audit.record(Kind.ACCESS_DENIED, request=request, summary=subject.document_name, subjects=[subject],
                     document_id=subject.document_id, chunk_id=subject.chunk_id)
        raise Http404("No such source.")  # no hint that it exists


@login_required
def document_file(request, pk):
    document = get_object_or_404(Document.objects.select_related("collection"), pk=pk)
    _visible_or_404(request, document.collection_id, document_subject(document, Role.DENIED))
    response = file_response(document)
    subject = document_subject(document, Role.OPENED)
    audit.record(Kind.DOCUMENT_VIEW, request=request, summary=subject.document_name, subjects=[subject], document_id=document.pk)
    return response


def file_response(document: Document) -> FileResponse:
    """The document's file, safe to serve from this site (the caller checked who may see it)."""
    content_type = mimetypes.guess_type(document.original_name)[0] or "application/octet-stream"
    inline = content_type in ("application/pdf", "text/plain", "text/markdown")
    response = FileResponse(
        document.file.open("rb"), content_type=content_type, as_attachment=not inline, filename=document.original_name
    )
    # Uploaded HTML and the like is never rendered as a page of this site.
    response["Content-Security-Policy"] = "sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def chunk_detail(request, pk):
    chunk = get_object_or_404(Chunk.objects.select_related("document", "faq", "collection"), pk=pk)
    _visible_or_404(request, chunk.collection_id, chunk_subject(chunk, Role.DENIED))
    subject = chunk_subject(chunk, Role.OPENED)
    audit.record(Kind.PASSAGE_VIEW, request=request, summary=f"{subject.document_name} #{chunk.position}",
                 subjects=[subject], chunk_id=chunk.pk)
    return JsonResponse({**chunk.citation(), "text": chunk.text})
