"""`python -m netgen` is the `netgen` command."""

from .cli.main import run

if __name__ == "__main__":
    run()
