"""AI-assistant hooks: forge (an answer's stated fixes -> patterns) and inject (a query ->
a bounded `<learned-patterns>` block for the system prompt)."""
