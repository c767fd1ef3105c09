from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "kbassist.api"
    label = "api"
    verbose_name = "API"
