//! `garnet compile`: a `.gnet` network to a `.gcirc` circuit (and Bristol text).

use anyhow::{Context, Result};
use garnet_circuits::format::{Format, write_file};
use garnet_circuits::passes::{StreamSummary, optimize_into_gcirc};
use garnet_circuits::stats::Stats;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| args.file.with_extension("gcirc"));
    if args.bristol.is_none() && !args.stats {
        return run_streaming(&args, &out);
    }
    // Bristol text and statistics need the whole circuit in memory.
    let c = super::network::compile(&args.file, args.weights.as_deref())?;
    let full = match &c.gcirc {
        Some(bytes) => garnet_circuits::format::gcirc::read(&mut &bytes[..])
            .context("the compiled circuit does not read back")?,
        None => c.circuit,
    };
    write_file(&out, &full, Format::Gcirc)
        .with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "wrote {} ({} gates, {} AND, {} wires)",
        out.display(),
        full.gates.len(),
        full.and_count(),
        full.wires
    );
    if let Some(b) = &args.bristol {
        write_file(b, &full, Format::Bristol)
            .with_context(|| format!("cannot write {}", b.display()))?;
        eprintln!("wrote {}", b.display());
    }
    if args.stats {
        println!("{}", args.file.display());
        print!("{}", Stats::of(&full));
    }
    Ok(())
}

/// Only the `.gcirc` file: the passes stream over the builder's compact gate store
/// and the file is written gate by gate, in bounded memory (same bytes as the
/// in-memory path).
fn run_streaming(args: &Args, out: &Path) -> Result<()> {
    let net = super::network::load_network(&args.file)?;
    let w = super::network::weights_for_compile(&net, args.weights.as_deref())?;
    let b = garnet_compiler::lower_to_builder(&net, w.as_ref())
        .with_context(|| format!("cannot compile {}", args.file.display()))?;
    drop(w);
    let write = || -> std::io::Result<StreamSummary> {
        let file = std::fs::File::create(out)?;
        let mut bw = std::io::BufWriter::with_capacity(1 << 16, file);
        let summary = optimize_into_gcirc(b, &mut bw)?;
        bw.flush()?;
        Ok(summary)
    };
    let s = write().with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "wrote {} ({} gates, {} AND, {} wires)",
        out.display(),
        s.gates,
        s.and_gates,
        s.wires
    );
    Ok(())
}
