"""One router per resource: patterns, adapters, health."""
