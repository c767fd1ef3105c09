from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kbassist.accounts"
    label = "accounts"
    verbose_name = "Sign-in"
