//! `altroot`: parse the command line, run it, exit with its status.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = altroot::commands::Cli::parse();
    ExitCode::from(altroot::commands::run(cli))
}
