"""One host process per app per test module (fixtures in each module), on the session's Azurite."""
