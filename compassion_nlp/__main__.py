"""``python -m compassion_nlp``."""

from .cli import main

main()
