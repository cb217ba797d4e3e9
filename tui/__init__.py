"""The timebok terminal app: CLI entry point, config, texts, widgets and the App."""
