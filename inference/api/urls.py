from django.urls import path

from inference.api.views import WidgetTokenCreateApi, chat_completions_view, chat_view

urlpatterns = [
    path("chat/completions", chat_completions_view, name="chat-completions"),
    path("chat", chat_view, name="chat"),
    path("widget-tokens", WidgetTokenCreateApi.as_view(), name="widget-tokens"),
]
