"""The terminal app's shell: the command line, config and state, sign-in, the connection and the App that holds the screens."""
