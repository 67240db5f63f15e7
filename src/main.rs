//! `altroot`: parse the command line, run it, exit with its status.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = altroot::cli::Cli::parse();
    ExitCode::from(altroot::cli::run(cli))
}
