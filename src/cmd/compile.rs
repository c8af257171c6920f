//! `garnet compile`: a `.gnet` network to a `.gcirc` circuit (and Bristol text).

use anyhow::{Context, Result};
use garnet_circuits::format::{Format, write_file};
use garnet_circuits::stats::Stats;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The network source (.gnet).
    pub file: PathBuf,
    /// Output circuit; default: the source's name with the extension .gcirc.
    #[arg(short = 'o', long = "output", value_name = "NET.gcirc")]
    pub output: Option<PathBuf>,
    /// Weights (.safetensors); required only for `params public` (they become constants).
    #[arg(long, value_name = "W.safetensors")]
    pub weights: Option<PathBuf>,
    /// Also write the circuit as Bristol Fashion text.
    #[arg(long, value_name = "OUT.txt")]
    pub bristol: Option<PathBuf>,
    /// Print the circuit statistics with the per-layer table.
    #[arg(long)]
    pub stats: bool,
}

pub fn run(args: Args) -> Result<()> {
    let c = super::network::compile(&args.file, args.weights.as_deref())?;
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| args.file.with_extension("gcirc"));
    write_file(&out, &c.circuit, Format::Gcirc)
        .with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "wrote {} ({} gates, {} AND, {} wires)",
        out.display(),
        c.circuit.gates.len(),
        c.circuit.and_count(),
        c.circuit.wires
    );
    if let Some(b) = &args.bristol {
        write_file(b, &c.circuit, Format::Bristol)
            .with_context(|| format!("cannot write {}", b.display()))?;
        eprintln!("wrote {}", b.display());
    }
    if args.stats {
        println!("{}", args.file.display());
        print!("{}", Stats::of(&c.circuit));
    }
    Ok(())
}
