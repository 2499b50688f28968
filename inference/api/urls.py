from django.urls import path

from inference.api.views import ChatApi, ChatCompletionsApi, WidgetTokenCreateApi

urlpatterns = [
    path("chat/completions", ChatCompletionsApi.as_view(), name="chat-completions"),
    path("chat", ChatApi.as_view(), name="chat"),
    path("widget-tokens", WidgetTokenCreateApi.as_view(), name="widget-tokens"),
]
