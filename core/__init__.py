"""Kizuna's chat-agnostic core: models, services, statistics, i18n and configuration."""
