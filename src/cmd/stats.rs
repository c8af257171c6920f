//! `garnet stats`: gate counts, depth, live wires and estimated traffic.

use anyhow::Result;
use garnet_circuits::stats::Stats;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A circuit file: .gcirc or Bristol Fashion / Bristol (detected from the content).
    pub file: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let circuit = super::load::circuit(&args.file)?;
    let stats = Stats::of(&circuit);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        println!("{}", args.file.display());
        print!("{stats}");
    }
    Ok(())
}
