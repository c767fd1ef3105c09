from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("auth", "0012_alter_user_first_name_max_length"), ("knowledge", "0001_initial")]
    operations = [
        migrations.AddField(model_name="collection", name="editor_groups", field=models.ManyToManyField(
            to="auth.group",
            blank=True,
            related_name="editable_collections",
            verbose_name="editor groups",
            help_text=(
                "Members of these groups may upload documents and edit FAQs in this collection "
                "(they also need the matching admin permissions). Superusers may edit every collection."
            ),
        )),
    ]
