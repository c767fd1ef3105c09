from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "kbassist.evaluation"
    verbose_name = "Evaluation"
