"""The storage layer: the only package that imports the Azure SDKs."""
