"""Entry point for `python -m nmtcli` (also what `torchrun -m nmtcli` runs)."""

from nmtcli.cli import main

if __name__ == "__main__":
    main()
