"""Cross-department projects: a home for the people of several departments working toward one result."""
