"""Object storage adapters: local directory, S3, memory."""
