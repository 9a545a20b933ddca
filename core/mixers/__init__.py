"""Shuffle-lunch mixers: cross-department groups formed on a rhythm."""
