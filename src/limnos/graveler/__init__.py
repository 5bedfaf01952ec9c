"""The versioning engine: refs, staging, commits, committed trees, diff and merge (plain, synchronous)."""
