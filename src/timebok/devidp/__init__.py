"""A local OpenID Connect provider on authlib for tests and development, shaped like ID-porten and HelseID (never for production)."""
