"""Pure domain code shared by the backend, the client and the app: no I/O, no frameworks."""
