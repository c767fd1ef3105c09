from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0002_collection_editor_groups")]
    operations = [
        migrations.AddField(model_name="document", name="stage", field=models.CharField(blank=True, max_length=100)),
        migrations.AlterField(model_name="document", name="status", field=models.CharField(
            choices=[("queued", "queued"), ("processing", "processing"), ("ready", "ready"), ("failed", "failed"),
                     ("skipped", "skipped")],
            default="queued", max_length=12,
        )),
    ]
