//! `garnet eval`: plaintext evaluation of a circuit, no cryptography.

use anyhow::{Context, Result};
use garnet_circuits::values::{collect_inputs, to_decimal, to_hex, to_signed_decimal};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A circuit file: .gcirc or Bristol (inputs named in0, in1, …; outputs out0, …),
    /// or a network (.gnet), compiled in memory.
    pub file: PathBuf,
    /// For a circuit: NAME=VALUE, with VALUE decimal (negative = two's complement), 0x… or
    /// 0b…; integer bit i of VALUE goes to the value's wire i. For a network: NAME=FILE, a
    /// JSON array, .npy or CSV of real numbers, quantized to the input's format; a file
    /// may hold several samples (an .npy of shape [k, …], k CSV rows), each evaluated.
    #[arg(long = "input", short = 'i', value_name = "NAME=VALUE|FILE")]
    pub inputs: Vec<String>,
    /// Weights of a .gnet network (.safetensors).
    #[arg(long, value_name = "W.safetensors")]
    pub weights: Option<PathBuf>,
    /// For a .gnet: run the plaintext reference interpreter instead of the circuit.
    #[arg(long)]
    pub reference: bool,
    /// Print JSON instead of text (circuit: `{"outputs": {NAME: "0x…"}}`; network:
    /// class indices as integers, tensors as `{"values", "raw", "shape", "format"}`).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> Result<()> {
    if super::network::is_network(&args.file) {
        return run_network(args);
    }
    if args.reference || args.weights.is_some() {
        anyhow::bail!("--reference and --weights apply to .gnet networks only");
    }
    // Streamed: a circuit of any size in memory per wire slot.
    let (circuit, gates) =
        garnet_circuits::format::open_gates(&args.file).context("cannot load circuit")?;
    let inputs = collect_inputs(&circuit, &args.inputs, None).context("bad --input")?;
    let mut ev = garnet_circuits::eval::LaneEval::for_sample(&circuit, &inputs)?;
    for g in gates {
        ev.gate(&g.context("cannot load circuit")?);
    }
    print_outputs(&circuit, &ev.sample_outputs(&circuit), args.json)
}

/// Prints outputs as hex and decimal, or as JSON; shared with the two-party commands.
pub fn print_outputs(
    circuit: &garnet_circuits::Circuit,
    outputs: &[Vec<bool>],
    json: bool,
) -> Result<()> {
    let named: Vec<(&str, &Vec<bool>)> = circuit
        .outputs
        .iter()
        .map(|o| o.name.as_str())
        .zip(outputs)
        .collect();
    if json {
        let map: serde_json::Map<String, serde_json::Value> = named
            .iter()
            .map(|(n, v)| (n.to_string(), serde_json::Value::String(to_hex(v))))
            .collect();
        println!("{}", serde_json::json!({ "outputs": map }));
    } else {
        for (name, bits) in named {
            let signed = to_signed_decimal(bits);
            let unsigned = to_decimal(bits);
            if signed == unsigned {
                println!("{name} = {} = {unsigned}", to_hex(bits));
            } else {
                println!("{name} = {} = {unsigned} (signed {signed})", to_hex(bits));
            }
        }
    }
    Ok(())
}

/// `garnet eval NET.gnet`: compile in memory and evaluate, or run the reference, on
/// every sample of the input files (64 per pass over the circuit).
fn run_network(args: Args) -> Result<()> {
    use super::network as n;
    let net = n::load_network(&args.file)?;
    let weights = n::weights_for_eval(&net, args.weights.as_deref())?;
    let samples = n::load_party_samples(&net, &args.inputs, None)?;
    let outputs = if args.reference {
        samples
            .iter()
            .map(|inputs| {
                let vals = garnet_compiler::reference::run(&net, &weights, inputs)
                    .context("the reference interpreter failed")?;
                Ok(garnet_compiler::reference::outputs(&net, &vals))
            })
            .collect::<Result<Vec<_>>>()?
    } else {
        let c = n::compile_bound(&args.file, net.clone(), Some(weights))?;
        let bits = samples
            .iter()
            .map(|s| c.input_bits(s))
            .collect::<Result<Vec<_>>>()?;
        c.eval_many(&bits)?
            .iter()
            .map(|out| Ok(garnet_compiler::decode_outputs(&c.net, out)?))
            .collect::<Result<Vec<_>>>()?
    };
    for (j, o) in outputs.iter().enumerate() {
        if outputs.len() > 1 && !args.json {
            println!("sample {}:", j + 1);
        }
        n::print_outputs(&net, o, args.json)?;
    }
    Ok(())
}
