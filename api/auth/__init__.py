"""Identity and access: users, roles, tokens, API keys and the dependencies every route declares."""
