"""``claims_removed`` duplicated ``verification["claims_removed"]``; the admin filters on that key."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("chat", "0006_quoted_answers")]
    operations = [migrations.RemoveField(model_name="message", name="claims_removed")]
