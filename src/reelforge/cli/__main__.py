"""``python -m reelforge.cli``."""

from reelforge.cli.app import main

if __name__ == "__main__":
    main()
