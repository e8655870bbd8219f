"""The team server: the seed's HTTP API on PostgreSQL + pgvector (issue 12).

`models` is the wire contract (plain Pydantic, importable without FastAPI, so the sync
client shares it); the app, routers and database code live beside it and keep FastAPI
types inside this package.
"""
