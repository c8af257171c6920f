//! `garnet stats`: gate counts, depth, live wires and estimated traffic of a
//! circuit file, or of a `.gnet` network counted without building its circuit.

use anyhow::{Context, Result};
use garnet_circuits::stats::Stats;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A circuit file (.gcirc or Bristol, detected from the content) or a network (.gnet),
    /// counted without building its circuit: the same gate counts as `garnet compile`,
    /// depths and live wires unknown.
    pub file: PathBuf,
    /// Weights for a .gnet with `params public` (they become constants).
    #[arg(long, value_name = "W.safetensors")]
    pub weights: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let stats = if garnet_infer::model::is_network(&args.file) {
        // Lower onto the live-gate counter: the compiled circuit's counts exactly,
        // but no circuit is built, so depths and peak live wires are unknown.
        let (net, _) = garnet_infer::model::load_network(&args.file)?;
        let w = garnet_infer::model::weights_for_compile(&net, args.weights.as_deref())?;
        let (counts, sections) = garnet_compiler::count(&net, w.as_ref())
            .with_context(|| format!("cannot lower {}", args.file.display()))?;
        Stats::from_counts(
            &garnet_compiler::interface(&net),
            counts,
            Stats::sections_from_counts(&sections),
        )
    } else {
        // Streamed: a circuit of any size in memory per wire slot.
        garnet_circuits::format::stats_file(&args.file).context("cannot load circuit")?
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        println!("{}", args.file.display());
        print!("{stats}");
    }
    Ok(())
}
