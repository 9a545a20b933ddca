"""Database migrations (tortoise-orm built-in); write new ones with `make migrations`."""
