from django.urls import path

from . import views

app_name = "knowledge"
urlpatterns = [
    path("documents/<int:pk>/file", views.document_file, name="document_file"),
    path("sources/chunks/<int:pk>", views.chunk_detail, name="chunk_detail"),
]
