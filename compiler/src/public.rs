//! `public "FILE";`: tensors both parties know, from a safetensors file beside the
//! network, bound at compile time: the pruning masks of `pruned=true` layers
//! (`N.mask`, the shape of `N.weight`, nonzero = kept) and the matrices of
//! `project` layers (`N.weight` `[K, len(x)]`). They shape the circuit (a mask
//! decides which products exist) or the client's plaintext input (a projection), so
//! they are part of the network, not of the server's private weights.

use crate::check::Typed;
use crate::diagnostics::Diagnostic;
use crate::ir::Op;
use crate::resolve::Program;
use crate::weights::{FloatTensor, quantize, read_safetensors};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The public tensors bound to a checked network's layers (indices of `Typed::layers`).
#[derive(Debug, Clone, Default)]
pub struct Public {
    /// Pattern of each pruned layer (true = kept).
    pub patterns: BTreeMap<usize, Arc<[bool]>>,
    /// Quantized matrix and saturation count of each `project` layer.
    pub projections: BTreeMap<usize, (Arc<[i64]>, usize)>,
    /// The file (resolved path, bytes).
    pub file: Option<(String, Arc<[u8]>)>,
}

/// The shape of the weights of a dense or conv layer `li`.
fn weight_shape(t: &Typed, li: usize) -> Vec<usize> {
    let l = &t.layers[li];
    let x = &t.tensors[l.inputs[0]].tensor;
    match l.op {
        Op::Dense { out, .. } => vec![out, x.shape[0]],
        Op::Conv2d { out, kernel, .. } => vec![out, x.shape[0], kernel.0, kernel.1],
        Op::Project { out } => vec![out, x.len()],
        _ => Vec::new(),
    }
}

fn shape_str(s: &[usize]) -> String {
    let d: Vec<String> = s.iter().map(usize::to_string).collect();
    format!("[{}]", d.join(", "))
}

/// Binds the program's public file to the checked network's pruned and `project`
/// layers; every problem is a diagnostic at the layer or the `public` statement.
pub fn bind(p: &Program, t: &Typed) -> Result<Public, Vec<Diagnostic>> {
    let mut out = Public::default();
    let mut diags = Vec::new();
    let needs: Vec<usize> = (0..t.layers.len())
        .filter(|&li| t.layers[li].pruned || matches!(t.layers[li].op, Op::Project { .. }))
        .collect();
    let (tensors, file_span) = match &p.public {
        None => (BTreeMap::new(), None),
        Some(f) => {
            out.file = Some((f.path.display().to_string(), Arc::from(f.bytes.as_slice())));
            match read_safetensors(&f.bytes) {
                Ok((tensors, problems)) => {
                    for pr in problems {
                        diags.push(
                            Diagnostic::error(format!("public file: {pr}"), f.span)
                                .with_span_label("in this file"),
                        );
                    }
                    (tensors, Some(f.span))
                }
                Err(e) => {
                    diags.push(
                        Diagnostic::error(format!("public file is not safetensors: {e}"), f.span)
                            .with_span_label("this file"),
                    );
                    return Err(diags);
                }
            }
        }
    };
    let mut used = BTreeSet::new();
    for li in needs {
        let l = &t.layers[li];
        let project = matches!(l.op, Op::Project { .. });
        let name = if project {
            format!("{}.weight", l.name)
        } else {
            format!("{}.mask", l.name)
        };
        let shape = weight_shape(t, li);
        let what = if project {
            "the projection matrix"
        } else {
            "the pruning mask"
        };
        let Some(ft) = tensors.get(&name) else {
            let mut d = Diagnostic::error(
                format!(
                    "`{}` needs {what} `{name}` {} in the public file",
                    l.name,
                    shape_str(&shape)
                ),
                l.span,
            );
            d = match file_span {
                None => d
                    .with_span_label("no `public \"FILE\";` in this network")
                    .with_note("add `public \"NAME.public.safetensors\";` naming the file the server publishes"),
                Some(fs) => d
                    .with_span_label(format!("`{name}` is missing"))
                    .with_label(fs, "the public file"),
            };
            diags.push(d);
            continue;
        };
        used.insert(name.clone());
        let FloatTensor {
            shape: fshape,
            data,
        } = ft;
        if *fshape != shape {
            diags.push(
                Diagnostic::error(
                    format!(
                        "public `{name}` has shape {}, `{}` needs {}",
                        shape_str(fshape),
                        l.name,
                        shape_str(&shape)
                    ),
                    l.span,
                )
                .with_span_label("this layer"),
            );
            continue;
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            diags.push(
                Diagnostic::error(
                    format!("public `{name}` has a non-finite value at index {i}"),
                    l.span,
                )
                .with_span_label("this layer"),
            );
            continue;
        }
        if project {
            let f = t.tensors[l.output].tensor.format;
            let mut sat = 0;
            let q: Vec<i64> = data
                .iter()
                .map(|v| {
                    let (q, s) = quantize(*v, f);
                    sat += usize::from(s);
                    q
                })
                .collect();
            out.projections.insert(li, (Arc::from(q), sat));
        } else {
            let keep: Vec<bool> = data.iter().map(|v| *v != 0.0).collect();
            out.patterns.insert(li, Arc::from(keep));
        }
    }
    if let Some(fs) = file_span {
        for name in tensors.keys().filter(|n| !used.contains(*n)) {
            diags.push(
                Diagnostic::error(format!("public file has tensor `{name}` that no layer uses"), fs)
                    .with_span_label("in this file")
                    .with_note("public tensors are `N.mask` of `pruned=true` layers and `N.weight` of `project` layers"),
            );
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}
