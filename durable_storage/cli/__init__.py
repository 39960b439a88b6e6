"""The command line: thin argument parsing over the client and the worker."""
