//! Constant folding of the shape arithmetic exporters write around the layers:
//! `x.view(x.size(0), -1)` becomes Shape → Gather → Unsqueeze → Concat → Reshape,
//! and a weight may reach MatMul through Transpose or Cast. Shapes have batch 1.

use super::{At, Ctx, Tensor, Val};
use crate::ImportError;
use crate::proto::{Attrs, Const};

/// The ops folded here.
pub(super) const FOLDED: &[&str] = &[
    "Shape",
    "Gather",
    "Unsqueeze",
    "Squeeze",
    "Concat",
    "Transpose",
    "Cast",
];

fn ints(c: &Const) -> Vec<i64> {
    c.values.iter().map(|v| *v as i64).collect()
}

/// An axis in `0..rank` from ONNX's `-rank..rank`.
fn axis(at: &At, a: i64, rank: usize) -> Result<usize, ImportError> {
    let r = rank as i64;
    if a < -r || a >= r {
        return Err(at.err(format!("axis {a} is out of range for rank {rank}")));
    }
    Ok(((a + r) % r.max(1)) as usize)
}

impl Ctx<'_> {
    /// The axes of Unsqueeze/Squeeze: the `axes` input (opset 13) or attribute.
    fn axes(&self, at: &At) -> Result<Option<Vec<i64>>, ImportError> {
        if let Some(a) = Attrs::of(at.node).ints("axes").map_err(|m| at.err(m))? {
            return Ok(Some(a.to_vec()));
        }
        Ok(match self.input(at, 1)? {
            Some(_) => Some(ints(&self.constant(at, 1, "axes")?)),
            None => None,
        })
    }

    pub(super) fn fold(&mut self, at: &At) -> Result<Val, ImportError> {
        let a = Attrs::of(at.node);
        let e = |m: String| at.err(m);
        let out_name = at.node.output.first().cloned().unwrap_or_default();
        let make = |dims: Vec<usize>, values: Vec<f64>, integer: bool| {
            Val::C(Const {
                name: out_name.clone(),
                dims,
                values,
                integer,
            })
        };
        match at.node.op_type.as_str() {
            "Shape" => {
                self.known(at, &["start", "end"])?;
                let Tensor { shape, .. } = self.tensor(at, 0)?;
                let full: Vec<f64> = std::iter::once(1.0)
                    .chain(shape.iter().map(|d| *d as f64))
                    .collect();
                let r = full.len() as i64;
                let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
                let start = clamp(a.int("start").map_err(e)?.unwrap_or(0));
                let end = clamp(a.int("end").map_err(e)?.unwrap_or(r));
                let v = full[start..end.max(start)].to_vec();
                Ok(make(vec![v.len()], v, true))
            }
            "Gather" => {
                self.known(at, &["axis"])?;
                let data = self.constant(at, 0, "data")?;
                let idx = self.constant(at, 1, "indices")?;
                if data.dims.len() != 1 || a.int("axis").map_err(e)?.unwrap_or(0) != 0 {
                    return Err(
                        at.err("Gather is supported only on one-dimensional constants (shapes)")
                    );
                }
                let n = data.values.len();
                let mut v = Vec::new();
                for i in ints(&idx) {
                    v.push(data.values[axis(at, i, n)?]);
                }
                Ok(make(idx.dims.clone(), v, data.integer))
            }
            "Unsqueeze" | "Squeeze" => {
                self.known(at, &["axes"])?;
                let c = self.constant(at, 0, "data")?;
                let axes = self.axes(at)?;
                let mut dims = c.dims.clone();
                if at.node.op_type == "Unsqueeze" {
                    let axes = axes.ok_or_else(|| at.err("Unsqueeze without axes"))?;
                    let rank = dims.len() + axes.len();
                    let mut sorted = axes
                        .iter()
                        .map(|x| axis(at, *x, rank))
                        .collect::<Result<Vec<_>, _>>()?;
                    sorted.sort_unstable();
                    for x in sorted {
                        dims.insert(x.min(dims.len()), 1);
                    }
                } else {
                    match axes {
                        None => dims.retain(|d| *d != 1),
                        Some(axes) => {
                            let rank = dims.len();
                            let mut xs =
                                axes.iter()
                                    .map(|x| axis(at, *x, rank))
                                    .collect::<Result<Vec<_>, _>>()?;
                            xs.sort_unstable();
                            for x in xs.into_iter().rev() {
                                if dims.get(x) != Some(&1) {
                                    return Err(
                                        at.err(format!("axis {x} of dims {dims:?} is not 1"))
                                    );
                                }
                                dims.remove(x);
                            }
                        }
                    }
                }
                Ok(make(dims, c.values, c.integer))
            }
            "Concat" => {
                self.known(at, &["axis"])?;
                let mut v = Vec::new();
                let mut integer = true;
                for k in 0..at.node.input.len() {
                    let c = self.constant(at, k, "a part")?;
                    if c.dims.len() != 1 {
                        return Err(at.err(
                            "Concat is supported only of one-dimensional constants (shapes)",
                        ));
                    }
                    integer &= c.integer;
                    v.extend(c.values);
                }
                Ok(make(vec![v.len()], v, integer))
            }
            "Transpose" => {
                self.known(at, &["perm"])?;
                let c = match self.input(at, 0)? {
                    Some(Val::C(c)) => c.clone(),
                    _ => {
                        return Err(at.err(
                            "Transpose of a computed tensor is not supported (only of weights)",
                        ));
                    }
                };
                let rank = c.dims.len();
                let perm: Vec<usize> = match a.ints("perm").map_err(e)? {
                    Some(p) => p
                        .iter()
                        .map(|x| axis(at, *x, rank))
                        .collect::<Result<_, _>>()?,
                    None => (0..rank).rev().collect(),
                };
                let mut seen = perm.clone();
                seen.sort_unstable();
                if seen != (0..rank).collect::<Vec<_>>() {
                    return Err(at.err(format!("perm {perm:?} is not a permutation of 0..{rank}")));
                }
                let dims: Vec<usize> = perm.iter().map(|p| c.dims[*p]).collect();
                // Row-major strides of the input, read in the output's order.
                let mut strides = vec![1usize; rank];
                for i in (0..rank.saturating_sub(1)).rev() {
                    strides[i] = strides[i + 1] * c.dims[i + 1];
                }
                let mut v = Vec::with_capacity(c.values.len());
                let mut index = vec![0usize; rank];
                for _ in 0..c.values.len() {
                    let src: usize = index.iter().zip(&perm).map(|(i, p)| i * strides[*p]).sum();
                    v.push(c.values[src]);
                    for d in (0..rank).rev() {
                        index[d] += 1;
                        if index[d] < dims[d] {
                            break;
                        }
                        index[d] = 0;
                    }
                }
                Ok(make(dims, v, c.integer))
            }
            _ => {
                // Cast
                self.known(at, &["to", "saturate"])?;
                let to = a.int("to").map_err(e)?.unwrap_or(1);
                let integer = matches!(to, 2..=7 | 12 | 13);
                match self.input(at, 0)?.cloned() {
                    Some(Val::C(c)) => {
                        let values = if integer {
                            c.values.iter().map(|v| v.trunc()).collect()
                        } else {
                            c.values
                        };
                        Ok(make(c.dims, values, integer))
                    }
                    Some(Val::T(t)) if to == 1 || to == 11 => Ok(self.pass(at, t)),
                    _ => Err(at.err(format!(
                        "Cast of a tensor to element type {to} is not supported"
                    ))),
                }
            }
        }
    }
}
