"""`python -m netgen` is the `netgen` command."""

from .cli.fast import run

if __name__ == "__main__":
    run()
