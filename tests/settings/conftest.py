"""A real OpenBao server for the Vault tests (started once per module that asks for it)."""

from tests.vault_server import vault, vault_server  # noqa: F401
