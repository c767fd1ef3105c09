"""Stand-ins for hit testing "as a group": someone in exactly one group (or in none), with
the attributes ``Collection.objects.visible_to`` reads. Never saved, never logged in."""

from django.contrib.auth.models import Group


class _Groups:
    def __init__(self, group):
        self.group = group

    def all(self):
        return Group.objects.filter(pk=self.group.pk) if self.group else Group.objects.none()

    def filter(self, **kwargs):
        return self.all().filter(**kwargs)


class GroupMember:
    is_authenticated = True
    is_active = True
    is_superuser = False
    is_staff = False
    pk = id = None

    def __init__(self, group):
        self.groups = _Groups(group)

    def get_username(self):
        return ""


class NoGroups(GroupMember):
    def __init__(self):
        super().__init__(None)
