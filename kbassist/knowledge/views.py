"""Source files and passages, served only to users who may see their collection."""

import mimetypes

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404

from .models import Chunk, Collection, Document


def _visible_or_404(user, collection_id):
    if not Collection.objects.visible_to(user).filter(pk=collection_id).exists():
        raise Http404("No such source.")  # no hint that it exists


@login_required
def document_file(request, pk):
    document = get_object_or_404(Document, pk=pk)
    _visible_or_404(request.user, document.collection_id)
    return file_response(document)


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
    _visible_or_404(request.user, chunk.collection_id)
    return JsonResponse({**chunk.citation(), "text": chunk.text})
