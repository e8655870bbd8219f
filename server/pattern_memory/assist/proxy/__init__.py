"""The proxy: an OpenAI- and Anthropic-compatible HTTP server in front of a model that injects
learned patterns before each request and forges new ones from each answer."""
