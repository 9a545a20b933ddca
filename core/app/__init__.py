"""The application layer: typed commands in, typed outcomes out (``execute``), and the one text grammar."""
