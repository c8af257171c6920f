//! `garnet convert`: between .gcirc and Bristol Fashion.

use anyhow::{Context, Result, bail};
use garnet_circuits::format::Format;
use std::path::PathBuf;

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Target {
    Gcirc,
    Bristol,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input circuit (.gcirc or Bristol, detected from the content).
    pub input: PathBuf,
    /// Output file.
    pub output: PathBuf,
    /// Output format; by default from the output's extension (.gcirc, or .txt/.bristol).
    #[arg(long)]
    pub to: Option<Target>,
}

pub fn run(args: Args) -> Result<()> {
    let format = match args.to {
        Some(Target::Gcirc) => Format::Gcirc,
        Some(Target::Bristol) => Format::Bristol,
        None => match args.output.extension().and_then(|e| e.to_str()) {
            Some("gcirc") => Format::Gcirc,
            Some("txt" | "bristol") => Format::Bristol,
            other => bail!(
                "cannot tell the output format from the extension {:?} of {}; pass --to gcirc or --to bristol",
                other.unwrap_or(""),
                args.output.display()
            ),
        },
    };
    if args.output == args.input || garnet_circuits::format::same_file(&args.output, &args.input) {
        bail!(
            "the output {} is the input itself: pick another path",
            args.output.display()
        );
    }
    let done = garnet_circuits::format::convert_file(&args.input, &args.output, format)
        .context("cannot convert")?;
    eprintln!(
        "wrote {} ({} gates, {} AND) as {:?}",
        args.output.display(),
        done.gates,
        done.and_gates,
        format
    );
    if done.dropped_annotations > 0 {
        eprintln!(
            "note: Bristol text cannot carry the network stored in {}: the result is a plain circuit",
            args.input.display()
        );
    }
    Ok(())
}
