"""The proxy: an OpenAI- and Anthropic-compatible HTTP server in front of a model that injects
learned patterns before each request and forges new ones from each answer."""

# The longest a request waits for the memory (kept here, cheap to import, for the CLI's
# default). A lookup takes 10-20 ms on an idle machine and a few hundred on a badly
# overloaded one (bench_proxy); past this the request goes upstream without injection.
DEFAULT_LOOKUP_BUDGET_SECONDS = 0.5
