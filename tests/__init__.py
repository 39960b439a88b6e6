"""durable_storage test suite (a package, so that no installed `tests` package can shadow it)."""
