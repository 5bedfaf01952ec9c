"""The metadata store: partitioned, ordered keys with compare-and-set (SQLite, PostgreSQL)."""
