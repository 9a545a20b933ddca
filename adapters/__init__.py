"""Chat-platform adapters: each translates its platform's payloads to core calls and cards to its format."""
