"""Storage adapters: SQL tables and repositories, session stores, blob store, field encryption."""
