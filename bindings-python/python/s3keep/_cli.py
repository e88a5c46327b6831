"""The `s3keep` console command installed by pip: the Rust CLI (crate `s3keep-cli`), run
in-process, so it is the same program as the `s3keep` binary of `cargo install`."""

from __future__ import annotations

import signal
import sys

from s3keep._s3keep import cli_main


def main() -> None:
    # The CLI handles Ctrl-C itself (cancels cleanly, exits 130), like the binary. Python's
    # own SIGINT handler would otherwise also fire and print a KeyboardInterrupt traceback
    # after the CLI has returned.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(cli_main(sys.argv))


if __name__ == "__main__":
    main()
