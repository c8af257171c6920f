//! `garnet eval`: plaintext evaluation of a circuit, no cryptography.

use anyhow::{Context, Result};
use garnet_circuits::format::Format;
use garnet_compiler::ir::Network;
use garnet_compiler::weights::Weights;
use garnet_infer::Model;
use garnet_infer::inputs::load_party_samples;
use garnet_infer::model::{is_network, load_network, weights_for_eval};
use garnet_infer::values::collect_inputs;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A circuit file: .gcirc or Bristol (inputs named in0, in1, …; outputs out0, …),
    /// or a network: a .gnet (compiled in memory) or the .gcirc compiled from one.
    pub file: PathBuf,
    /// For a circuit: NAME=VALUE, with VALUE decimal (negative = two's complement), 0x… or
    /// 0b…; integer bit i of VALUE goes to the value's wire i (inputs of no bits need
    /// none). For a network: NAME=FILE, a JSON array, .npy or CSV of real numbers,
    /// quantized to the input's format; a file may hold several samples (an .npy of
    /// shape [k, …], k CSV rows), each evaluated.
    #[arg(long = "input", short = 'i', value_name = "NAME=VALUE|FILE")]
    pub inputs: Vec<String>,
    /// Weights of a network (.safetensors).
    #[arg(long, value_name = "W.safetensors")]
    pub weights: Option<PathBuf>,
    /// For a network: run the plaintext reference interpreter instead of the circuit.
    #[arg(long)]
    pub reference: bool,
    /// Print JSON instead of text (circuit: `{"outputs": {NAME: "0x…"}}`; network:
    /// class indices as integers, tensors as `{"values", "raw", "shape", "format"}`).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> Result<()> {
    if is_network(&args.file) {
        let (net, source) = load_network(&args.file)?;
        let w = weights_for_eval(&net, args.weights.as_deref())?;
        if args.reference {
            return run_network(&args, &net, &w, None);
        }
        let m = Model::compile(&args.file, net.clone(), &source, Some(w.clone()))?;
        return run_network(&args, &net, &w, Some(&m));
    }
    if is_gcirc(&args.file) {
        let m = Model::open(&args.file, args.weights.as_deref())?;
        if let Some(b) = &m.network {
            let w = match &b.weights {
                Some(w) => w.clone(),
                None => weights_for_eval(&b.net, None)?,
            };
            return run_network(&args, &b.net, &w, (!args.reference).then_some(&m));
        }
    }
    if args.reference || args.weights.is_some() {
        anyhow::bail!(
            "--reference and --weights apply to networks (a .gnet or the .gcirc compiled from one) only"
        );
    }
    // Streamed: a circuit of any size in memory per wire slot.
    let (circuit, gates) =
        garnet_circuits::format::open_gates(&args.file).context("cannot load circuit")?;
    let inputs = collect_inputs(&circuit, &args.inputs, None).context("bad --input")?;
    let mut ev = garnet_circuits::eval::LaneEval::for_sample(&circuit, &inputs)?;
    for g in gates {
        ev.gate(&g.context("cannot load circuit")?);
    }
    let outs = ev.sample_outputs(&circuit);
    let named: Vec<(String, Vec<bool>)> = circuit
        .outputs
        .iter()
        .map(|o| o.name.clone())
        .zip(outs)
        .collect();
    crate::cmd::print::circuit(&named, args.json)
}

/// True if the file starts with the `.gcirc` magic number.
fn is_gcirc(path: &Path) -> bool {
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .is_ok_and(|n| garnet_circuits::format::detect(&head[..n]) == Format::Gcirc)
}

/// A network on every sample of the input files: the circuit `m` (64 samples per
/// pass over its gates, with `w` bound) or, without it, the layer-IR interpreter.
fn run_network(args: &Args, net: &Network, w: &Weights, m: Option<&Model>) -> Result<()> {
    let samples = load_party_samples(net, &args.inputs, None)?;
    let outputs = match m {
        Some(m) => {
            let bits = samples
                .iter()
                .map(|s| {
                    Ok(garnet_compiler::circuit_inputs(
                        net,
                        &m.interface,
                        Some(w),
                        s,
                    )?)
                })
                .collect::<Result<Vec<_>>>()?;
            m.eval_many(&bits)?
                .iter()
                .map(|out| Ok(garnet_compiler::decode_outputs(net, out)?))
                .collect::<Result<Vec<_>>>()?
        }
        None => samples
            .iter()
            .map(|inputs| {
                let vals = garnet_compiler::reference::run(net, w, inputs)
                    .context("the reference interpreter failed")?;
                Ok(garnet_compiler::reference::outputs(net, &vals))
            })
            .collect::<Result<Vec<_>>>()?,
    };
    for (j, o) in outputs.iter().enumerate() {
        if outputs.len() > 1 && !args.json {
            println!("sample {}:", j + 1);
        }
        crate::cmd::print::network(net, o, args.json)?;
    }
    Ok(())
}
