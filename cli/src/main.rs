//! The `s3keep` command. Everything lives in the library (`s3keep_cli`), which the Python
//! package's `s3keep` entry point calls too.

fn main() {
    std::process::exit(s3keep_cli::main_with_args(std::env::args_os()));
}
