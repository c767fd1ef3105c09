from django import template

from kbassist.curation.access import is_curator as _is_curator

register = template.Library()


@register.filter
def is_curator(user) -> bool:
    return _is_curator(user)


@register.filter
def get(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
