"""The "Curators" group, whose members (like staff) may open the cockpit."""

from django.db import migrations


def create(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name="Curators")


class Migration(migrations.Migration):
    dependencies = [("curation", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
