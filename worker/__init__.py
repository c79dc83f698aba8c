"""Worker entry point, the `asts` CLI and the embedded stack launcher."""
