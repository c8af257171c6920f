//! The outputs a party learned, decoded: for a network, class labels as integers
//! and tensors as real values with their raw integers; for a circuit, bit vectors.

use crate::model::Model;
use anyhow::Result;
use garnet_compiler::ir::{Format, Network};
use std::collections::BTreeMap;

/// What one inference told a party.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// A network's outputs by name, integers as `garnet_compiler::decode_outputs`
    /// gives them, only those the party learned, in the network's output order.
    Network(Vec<(String, Vec<i64>)>),
    /// A circuit's outputs by name, least-significant bit first.
    Circuit(Vec<(String, Vec<bool>)>),
}

impl Model {
    /// Decodes the outputs of one inference (`None` for those the party does not
    /// learn, as a session gives them).
    pub fn decode(&self, outputs: &[Option<Vec<bool>>]) -> Result<Decoded> {
        let specs = &self.interface.outputs;
        let Some(b) = &self.network else {
            return Ok(Decoded::Circuit(
                specs
                    .iter()
                    .zip(outputs)
                    .filter_map(|(s, o)| o.clone().map(|o| (s.name.clone(), o)))
                    .collect(),
            ));
        };
        // Unknown outputs decode from zeros and are then left out.
        let full: Vec<Vec<bool>> = specs
            .iter()
            .zip(outputs)
            .map(|(spec, o)| o.clone().unwrap_or_else(|| vec![false; spec.bits.len()]))
            .collect();
        let mut all: BTreeMap<String, Vec<i64>> = garnet_compiler::decode_outputs(&b.net, &full)?;
        Ok(Decoded::Network(
            specs
                .iter()
                .zip(outputs)
                .filter(|(_, o)| o.is_some())
                .filter_map(|(s, _)| all.remove(&s.name).map(|v| (s.name.clone(), v)))
                .collect(),
        ))
    }

    /// The class label of output `name`, if the network has it as an argmax index
    /// and `d` holds it.
    pub fn label(&self, d: &Decoded, name: &str) -> Option<i64> {
        let b = self.network.as_ref()?;
        let o = b.net.outputs.iter().find(|o| o.name == name)?;
        let Decoded::Network(v) = d else { return None };
        match b.net.tensors[o.tensor].format {
            Format::Index { .. } => v.iter().find(|(n, _)| n == name)?.1.first().copied(),
            _ => None,
        }
    }
}

/// One decoded network output as JSON: an index as an integer, a tensor as real
/// values (fixed point / 2^frac, binary ±1) and raw integers.
pub fn output_json(net: &Network, name: &str, raw: &[i64]) -> serde_json::Value {
    let Some(o) = net.outputs.iter().find(|o| o.name == name) else {
        return serde_json::Value::Null;
    };
    let t = &net.tensors[o.tensor];
    match t.format {
        Format::Index { .. } => serde_json::json!(raw.first().copied().unwrap_or(0)),
        Format::Fixed { frac, .. } => {
            let scale = (1u64 << frac) as f64;
            serde_json::json!({
                "shape": t.shape,
                "values": raw.iter().map(|v| *v as f64 / scale).collect::<Vec<_>>(),
                "raw": raw,
                "format": t.format.to_string(),
            })
        }
        Format::Binary => serde_json::json!({
            "shape": t.shape,
            "values": raw.iter().map(|v| if *v != 0 { 1 } else { -1 }).collect::<Vec<_>>(),
            "raw": raw,
            "format": "binary",
        }),
    }
}
