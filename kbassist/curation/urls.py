from django.urls import path

from . import views

app_name = "curation"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("csv/<slug:name>.csv", views.chart_csv, name="csv"),
    path("export/<str:what>", views.export, name="export"),
    path("gaps", views.gap_list, name="gaps"),
    path("gaps/<int:pk>", views.gap_detail, name="gap"),
    path("gaps/<int:pk>/draft", views.gap_draft, name="gap_draft"),
    path("gaps/<int:pk>/save", views.gap_save, name="gap_save"),
    path("gaps/<int:pk>/status", views.gap_status, name="gap_status"),
    path("try", views.try_question, name="try"),
    path("answers", views.answer_list, name="answers"),
    path("reviews", views.review_list, name="reviews"),
]
