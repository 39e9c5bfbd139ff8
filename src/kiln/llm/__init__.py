"""Model providers, prompts and the streaming file-protocol parser."""
