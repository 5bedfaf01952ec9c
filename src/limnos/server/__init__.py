"""Server assembly: building one process's services from the configuration, first-start
work, and serving the API from several worker processes."""
