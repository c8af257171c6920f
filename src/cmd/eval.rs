//! `garnet eval`: plaintext evaluation of a circuit, no cryptography.

use anyhow::{Context, Result};
use garnet_circuits::values::{collect_inputs, to_decimal, to_hex, to_signed_decimal};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A circuit file: .gcirc or Bristol (inputs named in0, in1, …; outputs out0, …).
    pub file: PathBuf,
    /// An input value: NAME=VALUE, with VALUE decimal (negative = two's complement), 0x… or 0b….
    /// Integer bit i of VALUE goes to the value's wire i.
    #[arg(long = "input", short = 'i', value_name = "NAME=VALUE")]
    pub inputs: Vec<String>,
    /// Print `{"outputs": {NAME: "0x…"}}` instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let circuit = super::load::circuit(&args.file)?;
    let inputs = collect_inputs(&circuit, &args.inputs, None).context("bad --input")?;
    let outputs = circuit.eval(&inputs)?;
    print_outputs(&circuit, &outputs, args.json)
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
