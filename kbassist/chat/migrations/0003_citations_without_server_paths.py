"""Citations stored before this release carried the source file's server path
(``file_path``); users must never see it. Remove it from stored answers and the cache."""

from django.db import migrations


def strip_file_paths(apps, schema_editor):
    for name in ("Message", "CachedAnswer"):
        model = apps.get_model("chat", name)
        for obj in model.objects.only("id", "citations").iterator():
            if any(isinstance(c, dict) and "file_path" in c for c in obj.citations or []):
                obj.citations = [{k: v for k, v in c.items() if k != "file_path"} for c in obj.citations]
                model.objects.filter(pk=obj.pk).update(citations=obj.citations)


class Migration(migrations.Migration):
    dependencies = [("chat", "0002_answer_kinds_and_cache")]
    operations = [migrations.RunPython(strip_file_paths, migrations.RunPython.noop)]
