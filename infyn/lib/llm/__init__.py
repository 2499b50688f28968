"""Calls to a language model over the OpenAI protocol, for background work of any app."""
