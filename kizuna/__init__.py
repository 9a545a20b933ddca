"""Kizuna's composition root: the CLI, the one aiohttp server, and the adapter plug-in contract."""
