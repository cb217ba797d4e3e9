"""The UI text catalogues, one module per language (nb is the default)."""
