"""The proxy: an OpenAI- and Anthropic-compatible HTTP server in front of a model that injects
learned patterns before each request and forges new ones from each answer."""

# The longest a request waits for the memory (kept here, cheap to import, for the CLI's
# default). A lookup takes tens of milliseconds on an idle machine and hundreds on a badly
# overloaded one (docs/benchmarks.md, Proxy); past this the request goes upstream without
# injection.
DEFAULT_LOOKUP_BUDGET_SECONDS = 0.5
