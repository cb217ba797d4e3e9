"""A local OpenID Connect provider for tests and development, shaped like ID-porten and HelseID (never for production)."""
