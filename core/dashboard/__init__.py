"""The insights dashboard's core: sign-in links and sessions (``access``), the figures (``insights``)."""
