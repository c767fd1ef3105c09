"""Ask the knowledge base from the terminal, through the same ``answer()`` as the web chat.

    python manage.py ask "How many vacation days do I get?" [--user NAME] [--json]
"""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from kbassist.chat.answering import answer


class Command(BaseCommand):
    help = "Ask a question; the answer streams to the terminal, followed by its sources."

    def add_arguments(self, parser):
        parser.add_argument("question")
        parser.add_argument("--user", help="Answer as this user (their collections only). Default: the first superuser.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of streaming text.")

    def handle(self, *args, **opts):
        User = get_user_model()
        if opts["user"]:
            user = User.objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"No user named {opts['user']!r}.")
        else:
            user = User.objects.filter(is_superuser=True).order_by("pk").first()
            if user is None:
                raise CommandError("No users yet: run `manage.py ensure_admin` or pass --user.")

        final, errors, streamed = None, [], []
        for event in answer(opts["question"], user=user, via="command line"):
            kind = event["type"]
            if kind == "token" and not opts["json"]:
                streamed.append(event["text"])
                self.stdout.write(event["text"], ending="")
                self.stdout.flush()
            elif kind == "queued" and not opts["json"]:
                self.stderr.write(f"(waiting for the model: number {event['position']} in line)")
            elif kind == "error":
                errors.append(event["message"])
                if not opts["json"]:
                    self.stderr.write(event["message"])
            elif kind == "done":
                final = event
        if final is None:
            raise CommandError("; ".join(errors) or "No answer.")

        keys = ("n", "kind", "title", "url", "page", "section", "faq_id", "document_id", "chunk_id", "cited",
                "updated", "review_by", "past_review")
        citations = [{k: c.get(k) for k in keys} for c in final["citations"]]
        if opts["json"]:
            out = {
                "question": opts["question"],
                "answer": final["answer"],
                "status": final["status"],
                "kind": final["kind"],
                "citations": citations,
                "evidence": [
                    {k: e.get(k) for k in ("n", "quote", "context", "title", "page", "section")} for e in final.get("evidence", [])
                ],
                "verification": final.get("verification", {}),
                "timings": final["timings"],
            }
            if errors:
                out["errors"] = errors
            self.stdout.write(json.dumps(out, ensure_ascii=False, indent=2))
            return
        self.stdout.write("\n")
        if final["answer"].strip() != "".join(streamed).strip():
            # verification changed what the model wrote: the checked answer is the answer
            self.stdout.write("\nChecked against the sources, the answer is:\n" + final["answer"] + "\n")
        # evidence the answer's text does not already quote (an answer or a refusal made of quotes)
        evidence = [] if final.get("verification", {}).get("from_evidence") else final.get("evidence", [])
        for e in evidence:
            where = " › ".join(x for x in (e["title"], e.get("section")) if x)
            self.stdout.write(f"  From {where}: “{e['quote']}” [{e['n']}]")
        shown = [c for c in citations if c["cited"]] or citations
        for c in shown:
            where = ", ".join(str(x) for x in (f"p. {c['page']}" if c["page"] else None, c["section"]) if x)
            age = f", updated {c['updated']}" if c.get("updated") else ""
            if c.get("past_review"):
                age += f", past its review date {c['review_by']}"
            self.stdout.write(f"[{c['n']}] {c['title']}" + (f" — {where}" if where else "") + age
                              + (f"  ({c['url']})" if c["url"] else ""))
