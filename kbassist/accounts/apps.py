from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kbassist.accounts"
    label = "accounts"
    verbose_name = "Sign-in"

    def ready(self):
        from . import auditing  # noqa: F401  (connects the lockout receiver)
