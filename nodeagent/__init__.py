"""The hosting node agent: applies commands from its queue and serves the hosted sites."""
