"""kiln: prompt-to-web-app builder."""

__version__ = "0.1.0"
