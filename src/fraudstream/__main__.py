"""``python -m fraudstream``: the same CLI as the console script (used by the local stack)."""

from fraudstream.cli import main

main()
