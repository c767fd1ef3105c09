"""The curators' cockpit: the dashboard, the knowledge gaps, hit testing, and the answers."""

from __future__ import annotations

import csv
from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kbassist.chat.answering import explain
from kbassist.chat.models import Message
from kbassist.knowledge.models import FAQ, Chunk, Collection, Document

from . import drafts, gaps, stats
from .access import curated_collections, curator_required, sees_everything
from .faqs import promote
from .models import AnswerRecord, Gap
from .records import backfill
from .stand_in import GroupMember, NoGroups


MAX_DAYS = 3 * 366  # the longest period a page covers


# --- scope: the period and the collections a page covers ----------------------------------------
def _scope(request):
    """``(period, collection, collection_ids, curated)`` from the query string: the chosen
    collection must be one the curator curates; None covers all of theirs (superusers: all
    questions, those about no collection too)."""
    curated = list(curated_collections(request.user))
    period = stats.Period.last(30)
    try:
        if request.GET.get("since"):
            period.since = date.fromisoformat(request.GET["since"])
        if request.GET.get("until"):
            period.until = date.fromisoformat(request.GET["until"])
    except ValueError:
        pass
    if period.since > period.until:
        period.since, period.until = period.until, period.since
    period.since = max(period.since, period.until - timedelta(days=MAX_DAYS - 1))
    chosen = next((c for c in curated if str(c.pk) == request.GET.get("collection", "")), None)
    if chosen is not None:
        ids = [chosen.pk]
    elif sees_everything(request.user):
        ids = None
    else:
        ids = [c.pk for c in curated]
    return period, chosen, ids, curated


def _scope_query(period, chosen) -> str:
    q = f"since={period.since.isoformat()}&until={period.until.isoformat()}"
    return q + (f"&collection={chosen.pk}" if chosen else "")


@curator_required
def dashboard(request):
    backfill()
    period, chosen, ids, curated = _scope(request)
    figures = stats.dashboard(period, ids)
    from .reviews import due_sources

    due = due_sources(ids)
    top_gaps = gaps.summaries(ids, since=period.start, until=period.end)[:10]
    charts = {
        "per_day": figures["per_day"],
        "kinds": figures["kinds"],
        "feedback": figures["feedback_by_kind"],
        "ttft": figures["ttft"],
        "most_cited": figures["most_cited"],
    }
    return render(request, "curation/dashboard.html", {
        "period": period, "chosen": chosen, "curated": curated, "figures": figures, "charts": charts,
        "gaps": top_gaps, "query": _scope_query(period, chosen), "section": "dashboard",
        "kinds": Message.Kind.choices, "due": due[:20], "due_count": len(due),
        "mine": due_sources(None, owner=request.user),
    })


CSV_CHARTS = ("per_day", "kinds", "feedback", "ttft", "most_cited", "never_cited", "gaps")


@curator_required
def chart_csv(request, name):
    if name not in CSV_CHARTS:
        raise Http404("No such chart.")
    period, chosen, ids, _curated = _scope(request)
    records = stats.answers(period, ids)
    if name == "per_day":
        rows = stats.per_day(records, period)
    elif name == "kinds":
        rows = [{"kind": k, "answers": n} for k, n in stats.by_kind(records).items()]
    elif name == "feedback":
        rows = stats.feedback_by_kind(records)
    elif name == "ttft":
        rows = stats.ttft(records)
    elif name == "most_cited":
        rows = stats.most_cited(period, ids, limit=1000)
    elif name == "never_cited":
        rows = stats.never_cited(period, ids, limit=100_000)[1]
    else:
        rows = [{k: v for k, v in s.as_dict().items() if k != "questions"} for s in gaps.summaries(ids, since=period.start, until=period.end)]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{period.since}-{period.until}.csv"'
    writer = csv.writer(response)
    if rows:
        writer.writerow(rows[0].keys())
        for row in rows:
            writer.writerow(["; ".join(v) if isinstance(v, list) else v for v in row.values()])
    return response


@curator_required
def export(request, what):
    """Answers with feedback (CSV or JSONL) or the FAQ pairs as a fine-tuning JSONL."""
    from . import exports

    period, chosen, ids, _curated = _scope(request)
    if what == "faqs.jsonl":
        body, kind = exports.finetune_jsonl(ids if ids is not None else None), "application/jsonl"
    elif what in ("answers.csv", "answers.jsonl"):
        rows = exports.answer_rows(period, ids)
        body, kind = (exports.as_csv(rows), "text/csv") if what.endswith(".csv") else (exports.as_jsonl(rows), "application/jsonl")
    else:
        raise Http404("No such export.")
    response = HttpResponse(body, content_type=f"{kind}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{what.replace(".", f"-{period.since}-{period.until}.", 1)}"'
    return response


# --- knowledge gaps --------------------------------------------------------------------------------
@curator_required
def gap_list(request):
    if request.method == "POST":
        report = gaps.refresh()
        messages.success(request, _("Gaps refreshed: %(joined)d questions joined gaps, %(new)d new gaps.")
                         % {"joined": report.joined, "new": len(report.new_gaps)})
        return redirect(request.get_full_path())
    period, chosen, ids, curated = _scope(request)
    status = request.GET.get("status", Gap.Status.OPEN)
    statuses = [s for s, _label in Gap.Status.choices] if status == "all" else [status]
    summaries = gaps.summaries(ids, statuses=statuses, since=period.start, until=period.end)
    return render(request, "curation/gaps.html", {
        "summaries": summaries, "status": status, "statuses": Gap.Status.choices, "period": period, "chosen": chosen,
        "curated": curated, "query": _scope_query(period, chosen), "section": "gaps",
    })


def _gap_for(request, pk) -> Gap:
    gap = get_object_or_404(Gap, pk=pk)
    ids = None if sees_everything(request.user) else list(curated_collections(request.user).values_list("pk", flat=True))
    if not gaps.in_scope(gap.questions.all(), ids).exists():
        raise Http404("No such gap.")
    return gap


@curator_required
def gap_detail(request, pk):
    gap = _gap_for(request, pk)
    ids = None if sees_everything(request.user) else list(curated_collections(request.user).values_list("pk", flat=True))
    questions = gaps.in_scope(gap.questions.select_related("record", "record__asker", "record__message"), ids).order_by("record__created_at")
    editable = curated_collections(request.user)
    default_collection = None
    for passage in gap.draft_passages:
        default_collection = editable.filter(name=passage.get("collection")).first()
        if default_collection:
            break
    return render(request, "curation/gap.html", {
        "gap": gap, "questions": questions, "editable": editable, "default_collection": default_collection,
        "answer": gap.draft_answer, "section": "gaps",
        "drafting": gap.draft_status == Gap.Draft.QUEUED,
    })


@curator_required
@require_POST
def gap_draft(request, pk):
    gap = _gap_for(request, pk)
    drafts.request_draft(gap, request.user)
    return redirect("curation:gap", pk=gap.pk)


@curator_required
@require_POST
def gap_save(request, pk):
    gap = _gap_for(request, pk)
    collection = curated_collections(request.user).filter(pk=request.POST.get("collection") or 0).first()
    question, answer = request.POST.get("question", "").strip(), request.POST.get("answer", "").strip()
    if collection is None or not question or not answer:
        messages.error(request, _("Choose a collection you may edit, and write both the question and the answer."))
        return redirect("curation:gap", pk=gap.pk)
    drafts.save_faq(gap, request.user, collection, question, answer)
    messages.success(request, _("Saved as an FAQ in %(collection)s; the gap is resolved.") % {"collection": collection.name})
    return redirect("curation:gap", pk=gap.pk)


@curator_required
@require_POST
def gap_status(request, pk):
    gap = _gap_for(request, pk)
    action = request.POST.get("action")
    if action == "dismiss":
        gap.status = Gap.Status.DISMISSED
    elif action == "reopen":
        gap.status, gap.resolved_at = Gap.Status.OPEN, None
    elif action == "rerun":
        drafts.rerun(gap)
        return redirect("curation:gap", pk=gap.pk)
    gap.save(update_fields=["status", "resolved_at", "updated_at"])
    return redirect("curation:gap", pk=gap.pk)


# --- hit testing -------------------------------------------------------------------------------------
@curator_required
def try_question(request):
    question = request.GET.get("q", "").strip()
    as_kind = request.GET.get("as", "me")
    groups = Group.objects.order_by("name")
    context = {"question": question, "as_kind": as_kind, "groups": groups, "section": "try",
               "as_user": request.GET.get("user", ""), "as_group": request.GET.get("group", ""),
               "use_model": bool(request.GET.get("model")), "generate": bool(request.GET.get("generate"))}
    if not question:
        return render(request, "curation/try.html", context)
    who, label = request.user, _("you")
    if as_kind == "user":
        who = get_user_model().objects.filter(username=context["as_user"].strip()).first()
        if who is None:
            context["error"] = _("There is no user %(name)s.") % {"name": context["as_user"]}
            return render(request, "curation/try.html", context)
        label = who.get_username()
    elif as_kind == "group":
        group = groups.filter(pk=context["as_group"] or 0).first()
        if group is None:
            context["error"] = _("Choose a group.")
            return render(request, "curation/try.html", context)
        who, label = GroupMember(group), _("a member of %(group)s only") % {"group": group.name}
    elif as_kind == "nobody":
        who, label = NoGroups(), _("an employee in no group")
    ex = explain(question, user=who, use_model=context["use_model"], generate=context["generate"])
    context.update(_explanation_context(ex, who, request.user))
    context["as_label"] = label
    return render(request, "curation/try.html", context)


def _explanation_context(ex, who, curator) -> dict:
    visible_to_me = set(Collection.objects.visible_to(curator).values_list("pk", flat=True)) | set(
        curated_collections(curator).values_list("pk", flat=True))
    final = {h.chunk.pk: n for n, h in enumerate(ex.hits, start=1)}
    labels = [_("the search query"), _("the question as asked")]
    tables = [(labels[i] if len(ex.searches) > 1 else "", _candidates(search, final, visible_to_me)) for i, search in enumerate(ex.searches)]
    crosslingual = [{"source_n": final.get(h.chunk.pk), "score": h.crosslingual_score, **_passage(h.chunk, h.chunk.collection_id in visible_to_me)}
                    for h in ex.crosslingual]
    visible = Collection.objects.visible_to(who)
    searched = {c.pk for s in ex.searches for c in s.searched}
    return {
        "ex": ex, "tables": tables, "crosslingual": crosslingual, "search": ex.searches[0],
        "searched": ex.searches[0].searched,
        "skipped": ex.searches[0].skipped,
        "not_visible": Collection.objects.exclude(pk__in=visible.values("pk")).order_by("name"),
        "visible_unsearched": visible.exclude(pk__in=searched).order_by("name"),
        "settings": _thresholds(),
    }


def _candidates(search, final: dict, visible_to_me: set, per_retriever: int = 20) -> list[dict]:
    """One row per candidate: the best ``per_retriever`` of each retriever and the sources
    used, with each retriever's rank and score and the fused rank and score."""
    fused = {h.chunk.pk: (rank, h) for rank, h in enumerate(search.result.hits, start=1)}
    ids = list(dict.fromkeys([cid for _s, cid in search.bm25[:per_retriever]] + [cid for _s, cid in search.dense[:per_retriever]]
                             + [cid for cid in final if cid in fused]))
    chunks = Chunk.objects.select_related("document", "faq", "collection").in_bulk(ids)
    bm25 = {cid: (rank, score) for rank, (score, cid) in enumerate(search.bm25, start=1)}
    dense = {cid: (rank, score) for rank, (score, cid) in enumerate(search.dense, start=1)}
    rows = []
    for cid in ids:
        chunk = chunks.get(cid)
        if chunk is None:
            continue
        rows.append({
            **_passage(chunk, chunk.collection_id in visible_to_me),
            "bm25_rank": bm25.get(cid, (None, None))[0], "bm25_score": bm25.get(cid, (None, None))[1],
            "dense_rank": dense.get(cid, (None, None))[0], "dense_score": dense.get(cid, (None, None))[1],
            "fused_rank": fused[cid][0] if cid in fused else None, "fused_score": fused[cid][1].score if cid in fused else None,
            "source_n": final.get(cid),
        })
    rows.sort(key=lambda r: (r["source_n"] or 999, r["fused_rank"] or 999, min(r["bm25_rank"] or 999, r["dense_rank"] or 999)))
    return rows


def _passage(chunk, shown: bool) -> dict:
    """How a candidate passage is shown: in full only from a collection the curator may see."""
    return {"chunk": chunk, "shown": shown, "title": chunk.source_title if shown else _("(a passage you may not see)"),
            "collection": chunk.collection.name, "location": chunk.location if shown else "", "text": chunk.text[:300] if shown else ""}


def _thresholds() -> dict:
    from django.conf import settings

    names = ["KB_TOP_K", "KB_CANDIDATES", "KB_RRF_K", "KB_BM25_WEIGHT", "KB_DENSE_WEIGHT", "KB_FAQ_MATCH_COSINE",
             "KB_FAQ_MATCH_LEXICAL", "KB_MIN_SIMILARITY", "KB_MIN_COVERAGE", "KB_MIN_ANSWERABILITY", "KB_WEAK_ANSWERABILITY", "KB_CHECK_BELOW", "KB_CHECK_MIN_YES", "KB_CHECK_MIN_YES_WEAK", "KB_ANSWER_CACHE",
             "KB_TRANSLATE_QUERIES", "KB_CROSSLINGUAL_EMBEDDER", "KB_CROSSLINGUAL_HITS", "KB_GENERATE"]
    return {n: getattr(settings, n) for n in names}


# --- the answers, for curators -------------------------------------------------------------------------
@curator_required
def answer_list(request):
    if request.method == "POST":
        made = 0  # promote() puts each into a collection the curator may edit, or makes none
        for message in _answers(request).filter(pk__in=request.POST.getlist("message")):
            made += promote(message, request.user) is not None
        messages.success(request, _("%d FAQ entries created.") % made)
        return redirect(request.get_full_path())
    period, chosen, ids, curated = _scope(request)
    answers = _answers(request).filter(created_at__gte=period.start, created_at__lt=period.end)
    if ids is not None:
        through = AnswerRecord.collections.through
        answers = answers.filter(Exists(through.objects.filter(answerrecord_id=OuterRef("pk"), collection_id__in=ids)))
    kind, feedback, verified = request.GET.get("kind", ""), request.GET.get("feedback", ""), request.GET.get("verified", "")
    if kind:
        answers = answers.filter(kind=kind)
    if feedback == "down":
        answers = answers.filter(feedback__helpful=False)
    elif feedback == "up":
        answers = answers.filter(feedback__helpful=True)
    elif feedback == "none":
        answers = answers.filter(feedback__isnull=True)
    if verified == "removed":
        answers = answers.filter(verification__claims_removed__gt=0)
    page = Paginator(answers.order_by("-created_at"), 50).get_page(request.GET.get("page"))
    return render(request, "curation/answers.html", {
        "page": page, "kind": kind, "feedback": feedback, "verified": verified, "kinds": Message.Kind.choices,
        "period": period, "chosen": chosen, "curated": curated, "query": _scope_query(period, chosen), "section": "answers",
    })


def _answers(request):
    answers = Message.objects.filter(role=Message.Role.ASSISTANT).select_related("curation_record", "feedback", "conversation__user")
    if sees_everything(request.user):
        return answers
    through = AnswerRecord.collections.through
    ids = list(curated_collections(request.user).values_list("pk", flat=True))
    return answers.filter(Exists(through.objects.filter(answerrecord_id=OuterRef("pk"), collection_id__in=ids)))


# --- freshness: owners and review dates ------------------------------------------------------------
@curator_required
def review_list(request):
    from . import reviews

    curated = curated_collections(request.user)
    ids = None if sees_everything(request.user) else list(curated.values_list("pk", flat=True))
    if request.method == "POST":
        model = Document if request.POST.get("kind") == "document" else FAQ
        source = model.objects.filter(pk=request.POST.get("id") or 0, collection__in=curated).first()
        if source is None:
            raise Http404("No such source.")
        owner = get_user_model().objects.filter(username=request.POST.get("owner", "").strip()).first()
        group = Group.objects.filter(pk=request.POST.get("group") or 0).first()
        try:
            review_by = date.fromisoformat(request.POST["review_by"]) if request.POST.get("review_by") else None
        except ValueError:
            review_by = None
        reviews.set_review(source, owner=owner, owner_group=group, review_by=review_by)
        if model is Document and request.POST.get("superseded_by"):
            successor = Document.objects.filter(pk=request.POST["superseded_by"] or 0, collection__in=curated).exclude(pk=source.pk).first()
            if successor is None:
                raise Http404("No such successor.")
            source.superseded_by = successor
            source.save(update_fields=["superseded_by", "updated_at"])
        messages.success(request, _("Saved: %(source)s.") % {"source": source})
        return redirect("curation:reviews")
    return render(request, "curation/reviews.html", {
        "due": reviews.due_sources(ids), "mine": reviews.due_sources(None, owner=request.user),
        "groups": Group.objects.order_by("name"), "section": "reviews",
    })
