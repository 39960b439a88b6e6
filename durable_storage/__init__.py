"""durable_storage: the Durable Task Azure Storage task hub provider for Python."""
