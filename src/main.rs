//! The `garnet` command line: compile networks, inspect and convert circuits, and run
//! them between two parties with garbled circuits.

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "garnet",
    version,
    about = "Private neural-network inference with garbled circuits",
    long_about = "garnet compiles neural networks to Boolean circuits and runs them as a \
                  Yao garbled circuit between a model owner (garbler) and a data owner \
                  (evaluator), so neither learns the other's secret."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Classify bundled digit images privately: a server and a client over loopback TCP.
    Demo(cmd::demo::Args),
    /// Compile a network (.gnet) to a circuit (.gcirc, optionally Bristol text).
    Compile(cmd::compile::Args),
    /// Gate counts, depth, live wires and estimated traffic of a circuit or a .gnet network.
    Stats(cmd::stats::Args),
    /// Convert between .gcirc and Bristol Fashion.
    Convert(cmd::convert::Args),
    /// Evaluate a circuit on plaintext inputs (no cryptography).
    Eval(cmd::eval::Args),
    /// Import an ONNX model as a .gnet network and .safetensors weights.
    #[command(long_about = cmd::import::LONG_ABOUT)]
    Import(cmd::import::Args),
    /// Serve a circuit as the garbler: one session per evaluator that connects.
    Garble(cmd::twoparty::GarbleArgs),
    /// Connect to a garbler as the evaluator and print the outputs you learn.
    Evaluate(cmd::twoparty::EvaluateArgs),
    /// Run both parties in one command (two threads over loopback TCP) and print the
    /// outputs and the per-phase report.
    Run(cmd::twoparty::RunArgs),
    /// Measure garbling, evaluation, OT extension and end-to-end two-party speed.
    Bench(cmd::twoparty::BenchArgs),
    /// Secure outsourcing (DeepSecure): a client masks its input, a proxy evaluates
    /// with the server, only the client learns the result.
    Outsource(cmd::outsource::Args),
}

/// A reader that closed our standard output (`garnet stats … | head`) ends the program
/// quietly, as it would a Unix tool, and a full one (`> /dev/full`) with a one-line
/// error and exit code 1, instead of a panic message from `println!`.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") {
            if msg.contains("Broken pipe") {
                std::process::exit(141); // 128 + SIGPIPE, what a shell reports for such a tool
            }
            // A full disk or /dev/full: say so, exit 1 like any other error (not 101).
            let why = msg.split_once(": ").map_or(msg, |(_, w)| w);
            eprintln!("error: cannot write to standard output: {why}");
            std::process::exit(1);
        }
        default(info)
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => cmd::demo::run(args),
        Command::Compile(args) => cmd::compile::run(args),
        Command::Stats(args) => cmd::stats::run(args),
        Command::Convert(args) => cmd::convert::run(args),
        Command::Eval(args) => cmd::eval::run(args),
        Command::Import(args) => cmd::import::run(args),
        Command::Garble(args) => cmd::twoparty::run_garble(args),
        Command::Evaluate(args) => cmd::twoparty::run_evaluate(args),
        Command::Run(args) => cmd::twoparty::run_run(args),
        Command::Bench(args) => cmd::twoparty::run_bench(args),
        Command::Outsource(args) => cmd::outsource::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
