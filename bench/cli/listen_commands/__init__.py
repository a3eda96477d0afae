"""Subcommands of ``bench listen``: each module exposes ``register(listen_app)``."""
