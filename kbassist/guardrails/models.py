"""The sensitive-word lists, edited in the admin (Guard rails -> Sensitive words)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from kbassist.text import is_chinese


class SensitiveWord(models.Model):
    """A word or phrase that no question may ask about and no answer may contain.

    English terms match whole words, in any case ("salary" does not match "salaryman");
    Chinese terms match wherever they occur.
    """

    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        CHINESE = "zh-hans", _("Chinese")

    term = models.CharField(_("word or phrase"), max_length=200, unique=True)
    language = models.CharField(_("list"), max_length=10, choices=Language.choices, blank=True,
                                help_text=_("Left empty, it is taken from the term."))
    enabled = models.BooleanField(_("enabled"), default=True)
    note = models.CharField(_("note"), max_length=300, blank=True, help_text=_("Why it is on the list (for the other editors)."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["language", "term"]
        verbose_name = _("sensitive word")
        verbose_name_plural = _("sensitive words")

    def __str__(self):
        return self.term

    def save(self, *args, **kwargs):
        self.term = " ".join(self.term.split())
        if not self.language:
            self.language = self.Language.CHINESE if is_chinese(self.term) else self.Language.ENGLISH
        super().save(*args, **kwargs)
