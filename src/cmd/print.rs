//! Printing what a command learned: decoded network outputs (class labels as
//! integers, tensors as real values and raw integers) or circuit outputs (hex and
//! decimal), as text or JSON.

use anyhow::Result;
use garnet_compiler::ir::{Format, Network};
use garnet_infer::decode::output_json;
use garnet_infer::values::{to_decimal, to_hex, to_signed_decimal};
use garnet_infer::{Decoded, Model};

/// Prints one inference's decoded outputs.
pub fn decoded(model: &Model, d: &Decoded, json: bool) -> Result<()> {
    match (d, &model.network) {
        (Decoded::Network(v), Some(b)) => {
            let map: std::collections::BTreeMap<String, Vec<i64>> = v.iter().cloned().collect();
            let mut view = b.net.clone();
            view.outputs.retain(|o| map.contains_key(&o.name));
            network(&view, &map, json)
        }
        (Decoded::Circuit(v), _) => circuit(v, json),
        (Decoded::Network(_), None) => {
            anyhow::bail!("network outputs of a circuit without a network")
        }
    }
}

/// Prints circuit outputs as hex and decimal, or as JSON.
pub fn circuit(named: &[(String, Vec<bool>)], json: bool) -> Result<()> {
    if json {
        let map: serde_json::Map<String, serde_json::Value> = named
            .iter()
            .map(|(n, v)| (n.clone(), serde_json::Value::String(to_hex(v))))
            .collect();
        println!("{}", serde_json::json!({ "outputs": map }));
    } else {
        for (name, bits) in named {
            // Names come from the circuit file: no raw terminal escapes or newlines.
            let name = garnet_circuits::escape(name);
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

/// Prints decoded outputs (in the network's output order), as text or JSON.
pub fn network(
    net: &Network,
    outputs: &std::collections::BTreeMap<String, Vec<i64>>,
    json: bool,
) -> Result<()> {
    if json {
        let map: serde_json::Map<String, serde_json::Value> = net
            .outputs
            .iter()
            .map(|o| (o.name.clone(), output_json(net, &o.name, &outputs[&o.name])))
            .collect();
        println!("{}", serde_json::json!({ "outputs": map }));
        return Ok(());
    }
    for o in &net.outputs {
        let raw = &outputs[&o.name];
        let t = &net.tensors[o.tensor];
        let name = garnet_circuits::escape(&o.name);
        match t.format {
            Format::Index { .. } => println!("{name} = {}", raw.first().copied().unwrap_or(0)),
            _ => {
                let v = output_json(net, &o.name, raw);
                println!(
                    "{name} {} = {}  (raw {})",
                    t.format,
                    v["values"],
                    serde_json::json!(raw)
                );
            }
        }
    }
    Ok(())
}
