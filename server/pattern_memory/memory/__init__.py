"""Local pattern memory: SQLite store, embeddings, hybrid search and lifecycle."""
