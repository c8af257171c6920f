//! `garnet compile`: a `.gnet` network to a `.gcirc` circuit (and Bristol text).

use anyhow::{Context, Result, bail};
use garnet_circuits::format::{Format, Replacing, same_file, write_file};
use garnet_circuits::stats::Stats;
use garnet_infer::model::{StreamSummary, compile_gcirc, load_network, weights_for_compile};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The network source (.gnet). The .gcirc holds the circuit and the network's
    /// source, so it can be served, queried and evaluated like the .gnet.
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
    if out == args.file || same_file(&out, &args.file) {
        bail!(
            "-o {} is the network source itself: pick another output",
            out.display()
        );
    }
    if let Some(b) = &args.bristol
        && (*b == out || same_file(b, &out) || *b == args.file || same_file(b, &args.file))
    {
        bail!(
            "--bristol {} is also the .gcirc output or the source: pick another path",
            b.display()
        );
    }
    let (net, source) = load_network(&args.file)?;
    let w = weights_for_compile(&net, args.weights.as_deref())?;
    // The passes stream over the builder's compact gate store and the file is
    // written gate by gate, in bounded memory, with the network's source in it.
    // Bristol text and statistics need the whole circuit: then the bytes are kept in
    // memory too (the output may be a pipe or /dev/null, never read back).
    let keep = args.bristol.is_some() || args.stats;
    let mut kept = Vec::new();
    let write = |kept: &mut Vec<u8>| -> Result<StreamSummary> {
        // A temporary file beside the output, renamed over it when complete.
        let target = Replacing::create(&out)?;
        let mut bw = std::io::BufWriter::with_capacity(1 << 16, target.file()?);
        let summary = if keep {
            let s = compile_gcirc(&net, &source, w.as_ref(), &mut *kept)?;
            bw.write_all(kept)?;
            s
        } else {
            compile_gcirc(&net, &source, w.as_ref(), &mut bw)?
        };
        bw.flush()?;
        drop(bw);
        target.commit()?;
        Ok(summary)
    };
    let s = write(&mut kept).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "wrote {} ({} gates, {} AND, {} wires)",
        out.display(),
        s.gates,
        s.and_gates,
        s.wires
    );
    if !keep {
        return Ok(());
    }
    let full = garnet_circuits::format::gcirc::read(&mut &kept[..])
        .context("the compiled circuit does not read back")?;
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
