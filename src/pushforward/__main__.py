"""``python -m pushforward``: the command line, as ``torchrun -m pushforward fit ...`` runs it."""

from .cli import main

if __name__ == "__main__":
    main()
