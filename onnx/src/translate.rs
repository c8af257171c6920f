//! The graph walk: each ONNX node in order becomes a DSL layer, folds into the layer
//! before it (an Add of a constant as bias), passes its input through (Identity,
//! Dropout, a Reshape to the same shape) or becomes the output's argmax (a final
//! Softmax/ArgMax). Tensors lose their batch dimension: ONNX `[N, C, H, W]` is the
//! DSL's `[C, H, W]`.

mod fold;

use crate::proto::{self, Attrs, Const};
use crate::{ImportError, Options, OutputKind};
use garnet_compiler::weights::FloatTensor;
use onnx_protobuf::{GraphProto, NodeProto};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

/// The operators handled below (for the "not supported" message).
const SUPPORTED: &str = "Gemm, MatMul, Add, Conv, Relu, Sigmoid, Tanh, MaxPool, AveragePool, \
    GlobalAveragePool, GlobalMaxPool, Flatten, Reshape, BatchNormalization, Identity, Dropout, \
    Constant, Shape, Gather, Unsqueeze, Squeeze, Concat, Transpose and Cast of constants (shapes, \
    weights), and Softmax, LogSoftmax or ArgMax at an output";

/// The DSL's epsilon in batch norms (`running_var` is shifted to match the file's).
const DSL_EPS: f64 = garnet_compiler::check::BATCHNORM_EPS;

const KEYWORDS: &[&str] = &[
    "network", "block", "use", "format", "input", "output", "params", "from", "to", "public",
    "return", "true", "false", "binary", "fixed",
];

/// A DSL tensor.
#[derive(Debug, Clone)]
struct Tensor {
    name: String,
    /// Without the batch dimension.
    shape: Vec<usize>,
    /// The layer that made it (index into `layers`), if a layer did.
    layer: Option<usize>,
}

#[derive(Debug, Clone)]
enum Val {
    T(Tensor),
    C(Const),
    /// A Softmax/LogSoftmax/ArgMax of the tensor: allowed only as a graph output.
    Classes(Tensor),
}

#[derive(Debug, Clone)]
enum Op {
    Dense {
        out: usize,
        bias: bool,
    },
    Conv {
        out: usize,
        kh: usize,
        kw: usize,
        stride: usize,
        padding: usize,
        bias: bool,
    },
    MaxPool {
        k: usize,
        s: usize,
    },
    AvgPool {
        k: usize,
        s: usize,
    },
    Relu,
    Sigmoid,
    Tanh,
    BatchNorm,
    Flatten,
    Reshape(Vec<usize>),
    Add,
}

#[derive(Debug)]
struct Layer {
    name: String,
    op: Op,
    inputs: Vec<String>,
    /// `node N "name" (Op)`, written as a comment beside the layer.
    from: String,
    /// Named after the node kind (`dense1`), not after a `state_dict` name.
    generic: bool,
}

/// The node being translated, for errors.
struct At<'a> {
    index: usize,
    node: &'a NodeProto,
}

impl At<'_> {
    fn err(&self, message: impl Into<String>) -> ImportError {
        ImportError::Node {
            index: self.index,
            name: if self.node.name.is_empty() {
                "(unnamed)".into()
            } else {
                self.node.name.clone()
            },
            op: self.node.op_type.clone(),
            message: message.into(),
        }
    }
}

struct Ctx<'o> {
    opts: &'o Options,
    vals: HashMap<String, Val>,
    /// How many nodes read each value, plus one per graph output.
    uses: HashMap<String, usize>,
    /// The operators of the nodes that read each value.
    readers: HashMap<String, Vec<String>>,
    outputs: HashSet<String>,
    layers: Vec<Layer>,
    weights: BTreeMap<String, FloatTensor>,
    names: HashSet<String>,
    counters: HashMap<&'static str, usize>,
}

pub(crate) fn translate(
    g: &GraphProto,
    opts: &Options,
) -> Result<(String, BTreeMap<String, FloatTensor>), ImportError> {
    let mut cx = Ctx {
        opts,
        vals: HashMap::new(),
        uses: HashMap::new(),
        readers: HashMap::new(),
        outputs: g.output.iter().map(|o| o.name.clone()).collect(),
        layers: Vec::new(),
        weights: BTreeMap::new(),
        names: HashSet::new(),
        counters: HashMap::new(),
    };
    for n in &g.node {
        for i in n.input.iter().filter(|i| !i.is_empty()) {
            *cx.uses.entry(i.clone()).or_default() += 1;
            cx.readers
                .entry(i.clone())
                .or_default()
                .push(n.op_type.clone());
        }
    }
    for o in &g.output {
        *cx.uses.entry(o.name.clone()).or_default() += 1;
    }
    for t in &g.initializer {
        let c = proto::tensor(t).map_err(|e| ImportError::Graph(format!("initializer: {e}")))?;
        cx.vals.insert(t.name.clone(), Val::C(c));
    }
    let mut inputs = Vec::new();
    let initializers: HashSet<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
    for i in g
        .input
        .iter()
        .filter(|i| !initializers.contains(i.name.as_str()))
    {
        let shape = input_shape(i)?;
        let name = cx.fresh(&sanitize(&i.name));
        inputs.push((name.clone(), shape.clone()));
        cx.vals.insert(
            i.name.clone(),
            Val::T(Tensor {
                name,
                shape,
                layer: None,
            }),
        );
    }
    if inputs.is_empty() {
        return Err(ImportError::Graph("the graph has no input".into()));
    }
    for (index, node) in g.node.iter().enumerate() {
        let at = At { index, node };
        let v = cx.node(&at)?;
        for (j, o) in node.output.iter().enumerate().skip(1) {
            if !o.is_empty() && cx.uses.get(o).copied().unwrap_or(0) > 0 {
                return Err(at.err(format!(
                    "its output {j} `{o}` is used; garnet supports only the first output"
                )));
            }
        }
        let out = node
            .output
            .first()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| at.err("it has no output"))?;
        cx.vals.insert(out.clone(), v);
    }
    let outputs = cx.outputs_of(g)?;
    Ok((cx.emit(&inputs, &outputs), cx.weights))
}

/// Shape of a graph input without its batch dimension (the first, of any size).
fn input_shape(i: &onnx_protobuf::ValueInfoProto) -> Result<Vec<usize>, ImportError> {
    use onnx_protobuf::tensor_shape_proto::dimension::Value as Dim;
    let bad = |why: &str| ImportError::Graph(format!("graph input `{}` {why}", i.name));
    let ty = i
        .type_
        .as_ref()
        .filter(|t| t.has_tensor_type())
        .ok_or_else(|| bad("is not a tensor"))?
        .tensor_type();
    if ty.elem_type != 1 && ty.elem_type != 11 {
        return Err(bad("is not of element type float or double"));
    }
    let dims = &ty.shape.as_ref().ok_or_else(|| bad("has no shape"))?.dim;
    if dims.len() < 2 {
        return Err(bad(
            "must have a batch dimension and at least one more ([N, features] or [N, C, H, W])",
        ));
    }
    dims[1..]
        .iter()
        .map(|d| match d.value {
            Some(Dim::DimValue(v)) if v > 0 => Ok(v as usize),
            _ => Err(bad(
                "has a dimension other than the first that is not a fixed positive size",
            )),
        })
        .collect()
}

/// A DSL identifier from an ONNX name: other characters become `_`.
fn sanitize(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .trim_matches('_')
        .to_string();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert_str(0, "t_");
    }
    if KEYWORDS.contains(&s.as_str()) {
        s.push('_');
    }
    s
}

/// `fc1` from `fc1.weight` (PyTorch `state_dict` names), if the name has that form.
fn module_name(param: &str, suffix: &str) -> Option<String> {
    param
        .strip_suffix(suffix)
        .filter(|m| !m.is_empty())
        .map(sanitize)
}

impl Ctx<'_> {
    fn fresh(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 2;
        while self.names.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.names.insert(name.clone());
        name
    }

    /// A layer name: the module's (`fc1` from `fc1.weight`), else `dense1`, `relu2`, ….
    fn layer_name(&mut self, hint: Option<String>, kind: &'static str) -> (String, bool) {
        match hint {
            Some(h) if !self.names.contains(&h) => (self.fresh(&h), false),
            _ => {
                let c = self.counters.entry(kind).or_insert(0);
                *c += 1;
                let base = format!("{kind}{c}");
                (self.fresh(&base), true)
            }
        }
    }

    fn uses(&self, name: &str) -> usize {
        self.uses.get(name).copied().unwrap_or(0)
    }

    fn input<'v>(&'v self, at: &At, k: usize) -> Result<Option<&'v Val>, ImportError> {
        match at.node.input.get(k).filter(|n| !n.is_empty()) {
            None => Ok(None),
            Some(n) => self.vals.get(n).map(Some).ok_or_else(|| {
                at.err(format!(
                    "input {k} `{n}` is not a graph input, an initializer or an earlier node's output"
                ))
            }),
        }
    }

    fn tensor(&self, at: &At, k: usize) -> Result<Tensor, ImportError> {
        match self.input(at, k)? {
            Some(Val::T(t)) => Ok(t.clone()),
            Some(Val::C(_)) => Err(at.err(format!(
                "input {k} is a constant; garnet supports it only as a weight, bias or shape"
            ))),
            Some(Val::Classes(_)) => Err(at.err(format!(
                "input {k} is a Softmax/ArgMax result, which garnet supports only as a graph output"
            ))),
            None => Err(at.err(format!("input {k} is missing"))),
        }
    }

    fn constant(&self, at: &At, k: usize, what: &str) -> Result<Const, ImportError> {
        match self.input(at, k)? {
            Some(Val::C(c)) => Ok(c.clone()),
            Some(_) => Err(at.err(format!(
                "input {k} ({what}) is computed by the graph; garnet needs it as an initializer or Constant"
            ))),
            None => Err(at.err(format!("input {k} ({what}) is missing"))),
        }
    }

    fn known(&self, at: &At, known: &[&str]) -> Result<(), ImportError> {
        match Attrs::of(at.node).unknown(known) {
            Some(a) => Err(at.err(format!("attribute {a} is not supported"))),
            None => Ok(()),
        }
    }

    fn push(
        &mut self,
        at: &At,
        name: String,
        generic: bool,
        op: Op,
        inputs: &[&Tensor],
        shape: Vec<usize>,
    ) -> Val {
        let node = &at.node.name;
        self.layers.push(Layer {
            name: name.clone(),
            op,
            inputs: inputs.iter().map(|t| t.name.clone()).collect(),
            from: comment(&format!(
                "node {} {} ({})",
                at.index,
                if node.is_empty() { "(unnamed)" } else { node },
                at.node.op_type
            )),
            generic,
        });
        Val::T(Tensor {
            name,
            shape,
            layer: Some(self.layers.len() - 1),
        })
    }

    /// A node that passes its input through (Identity, Dropout, a Reshape to the same
    /// shape). The result still counts as the layer's direct output (for a following
    /// bias Add or BatchNormalization) only if nothing else reads the input.
    fn pass(&self, at: &At, mut t: Tensor) -> Val {
        if at.node.input.first().is_none_or(|i| self.uses(i) != 1) {
            t.layer = None;
        }
        Val::T(t)
    }

    fn param(&mut self, name: String, shape: Vec<usize>, data: Vec<f64>) {
        self.weights.insert(name, FloatTensor { shape, data });
    }

    /// Translates one node into the value of its first output.
    fn node(&mut self, at: &At) -> Result<Val, ImportError> {
        let n = at.node;
        if !n.domain.is_empty() && n.domain != "ai.onnx" {
            return Err(at.err(format!(
                "operators of domain `{}` are not supported (only the default ONNX domain)",
                n.domain
            )));
        }
        let a = Attrs::of(n);
        let e = |m: String| at.err(m);
        match n.op_type.as_str() {
            "Gemm" => {
                self.known(at, &["alpha", "beta", "transA", "transB"])?;
                if a.int("transA").map_err(e)?.unwrap_or(0) != 0 {
                    return Err(
                        at.err("transA = 1 is not supported (the input must be [batch, features])")
                    );
                }
                let alpha = a.float("alpha").map_err(e)?.unwrap_or(1.0) as f64;
                let beta = a.float("beta").map_err(e)?.unwrap_or(1.0) as f64;
                let trans_b = a.int("transB").map_err(e)?.unwrap_or(0) != 0;
                let x = self.tensor(at, 0)?;
                let b = self.constant(at, 1, "B")?;
                let c = match self.input(at, 2)? {
                    Some(_) => Some(self.constant(at, 2, "C")?),
                    None => None,
                };
                self.dense(at, &x, &b, !trans_b, alpha, c.as_ref(), beta)
            }
            "MatMul" => {
                self.known(at, &[])?;
                let x = self.tensor(at, 0)?;
                let b = self.constant(at, 1, "B")?;
                self.dense(at, &x, &b, true, 1.0, None, 1.0)
            }
            "Add" => {
                self.known(at, &[])?;
                let (x, y) = (self.input(at, 0)?.cloned(), self.input(at, 1)?.cloned());
                match (x, y) {
                    (Some(Val::T(x)), Some(Val::T(y))) => {
                        if x.shape != y.shape {
                            return Err(at.err(format!(
                                "inputs of shapes {:?} and {:?}: garnet's add needs equal shapes (no broadcasting)",
                                x.shape, y.shape
                            )));
                        }
                        let (name, g) = self.layer_name(None, "add");
                        let shape = x.shape.clone();
                        Ok(self.push(at, name, g, Op::Add, &[&x, &y], shape))
                    }
                    (Some(Val::T(x)), Some(Val::C(c))) | (Some(Val::C(c)), Some(Val::T(x))) => {
                        self.fold_bias(at, &x, &c)
                    }
                    _ => Err(at.err("garnet supports Add of two tensors or of a layer output and a constant bias")),
                }
            }
            "Conv" => self.conv(at),
            "Relu" | "Sigmoid" | "Tanh" => {
                self.known(at, &[])?;
                let x = self.tensor(at, 0)?;
                let (op, kind) = match n.op_type.as_str() {
                    "Relu" => (Op::Relu, "relu"),
                    "Sigmoid" => (Op::Sigmoid, "sigmoid"),
                    _ => (Op::Tanh, "tanh"),
                };
                let (name, g) = self.layer_name(None, kind);
                let shape = x.shape.clone();
                Ok(self.push(at, name, g, op, &[&x], shape))
            }
            "MaxPool" | "AveragePool" => self.pool(at),
            "GlobalAveragePool" | "GlobalMaxPool" => {
                self.known(at, &[])?;
                let x = self.tensor(at, 0)?;
                let [c, h, w] = image(at, &x)?;
                if h != w {
                    return Err(at.err(format!("input of {h}×{w}: garnet's pools are square")));
                }
                let avg = n.op_type == "GlobalAveragePool";
                if avg && !h.is_power_of_two() {
                    return Err(at.err(format!(
                        "window of {h}×{h}: garnet's avgpool needs a power-of-two kernel"
                    )));
                }
                let (op, kind) = if avg {
                    (Op::AvgPool { k: h, s: h }, "avgpool")
                } else {
                    (Op::MaxPool { k: h, s: h }, "maxpool")
                };
                let (name, g) = self.layer_name(None, kind);
                Ok(self.push(at, name, g, op, &[&x], vec![c, 1, 1]))
            }
            "Flatten" => {
                self.known(at, &["axis"])?;
                let axis = a.int("axis").map_err(e)?.unwrap_or(1);
                let x = self.tensor(at, 0)?;
                if axis != 1 && axis != -(x.shape.len() as i64) {
                    return Err(at.err(format!(
                        "axis = {axis} is not supported (only 1: flatten everything but the batch)"
                    )));
                }
                let n = x_len(&x.shape);
                self.reshape_to(at, x, vec![n])
            }
            "Reshape" => {
                self.known(at, &["allowzero"])?;
                let allowzero = a.int("allowzero").map_err(e)?.unwrap_or(0) != 0;
                let x = self.tensor(at, 0)?;
                let s = self.constant(at, 1, "shape")?;
                let target = reshape_target(&x.shape, &s, allowzero).map_err(e)?;
                self.reshape_to(at, x, target)
            }
            "BatchNormalization" => self.batchnorm(at),
            "Identity" => {
                self.known(at, &[])?;
                match self.input(at, 0)?.cloned() {
                    Some(Val::T(t)) => Ok(self.pass(at, t)),
                    Some(v) => Ok(v),
                    None => Err(at.err("input 0 is missing")),
                }
            }
            "Dropout" => {
                self.known(at, &["seed", "ratio", "is_test"])?;
                if let Some(Val::C(t)) = self.input(at, 2)?
                    && t.values.iter().any(|v| *v != 0.0)
                {
                    return Err(at.err("training_mode = true is not supported (inference only)"));
                }
                let t = self.tensor(at, 0)?;
                Ok(self.pass(at, t))
            }
            "Constant" => {
                self.known(
                    at,
                    &[
                        "value",
                        "value_float",
                        "value_floats",
                        "value_int",
                        "value_ints",
                    ],
                )?;
                let c = |values: Vec<f64>, dims: Vec<usize>, integer| Const {
                    name: n.output.first().cloned().unwrap_or_default(),
                    dims,
                    values,
                    integer,
                };
                if let Some(t) = a.tensor("value").map_err(e)? {
                    let mut k = proto::tensor(t).map_err(e)?;
                    k.name = n.output.first().cloned().unwrap_or_default();
                    Ok(Val::C(k))
                } else if let Some(v) = a.float("value_float").map_err(e)? {
                    Ok(Val::C(c(vec![v as f64], vec![], false)))
                } else if let Some(v) = a.floats("value_floats").map_err(e)? {
                    Ok(Val::C(c(
                        v.iter().map(|x| *x as f64).collect(),
                        vec![v.len()],
                        false,
                    )))
                } else if let Some(v) = a.int("value_int").map_err(e)? {
                    Ok(Val::C(c(vec![v as f64], vec![], true)))
                } else if let Some(v) = a.ints("value_ints").map_err(e)? {
                    Ok(Val::C(c(
                        v.iter().map(|x| *x as f64).collect(),
                        vec![v.len()],
                        true,
                    )))
                } else {
                    Err(at.err("a Constant without a value"))
                }
            }
            "Softmax" | "LogSoftmax" | "ArgMax" => self.classes(at),
            op if fold::FOLDED.contains(&op) => self.fold(at),
            op => Err(at.err(format!(
                "operator {op} is not supported; garnet imports {SUPPORTED}"
            ))),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn dense(
        &mut self,
        at: &At,
        x: &Tensor,
        b: &Const,
        transpose: bool,
        alpha: f64,
        c: Option<&Const>,
        beta: f64,
    ) -> Result<Val, ImportError> {
        if x.shape.len() != 1 {
            return Err(at.err(format!(
                "input of shape [N, {}]: garnet's dense needs [N, features] (add a Flatten before it)",
                join(&x.shape)
            )));
        }
        let [r, k] = b.dims[..] else {
            return Err(at.err(format!(
                "weight `{}` has dims {:?}, not two",
                b.name, b.dims
            )));
        };
        // Stored as [out, in] (PyTorch's Linear weight).
        let (out, inp) = if transpose { (k, r) } else { (r, k) };
        if out == 0 {
            return Err(at.err(format!("weight `{}` has dims {:?}", b.name, b.dims)));
        }
        if inp != x.shape[0] {
            return Err(at.err(format!(
                "weight `{}` of dims {:?} does not take {} inputs",
                b.name, b.dims, x.shape[0]
            )));
        }
        let mut w = vec![0.0; out * inp];
        for o in 0..out {
            for i in 0..inp {
                let v = if transpose {
                    b.values[i * out + o]
                } else {
                    b.values[o * inp + i]
                };
                w[o * inp + i] = alpha * v;
            }
        }
        let bias = match c {
            Some(c) => Some(
                broadcast(at, c, out, false)?
                    .iter()
                    .map(|v| beta * v)
                    .collect(),
            ),
            None => None,
        };
        let hint = module_name(&b.name, ".weight")
            .or_else(|| c.and_then(|c| module_name(&c.name, ".bias")));
        let (name, g) = self.layer_name(hint, "dense");
        self.param(format!("{name}.weight"), vec![out, inp], w);
        let has_bias = bias.is_some();
        if let Some(bias) = bias {
            self.param(format!("{name}.bias"), vec![out], bias);
        }
        Ok(self.push(
            at,
            name,
            g,
            Op::Dense {
                out,
                bias: has_bias,
            },
            &[x],
            vec![out],
        ))
    }

    /// `Add(layer, constant)`: the constant joins the layer's bias (MatMul + Add is
    /// how PyTorch exports some Linear layers).
    fn fold_bias(&mut self, at: &At, x: &Tensor, c: &Const) -> Result<Val, ImportError> {
        let onnx_in = at
            .node
            .input
            .iter()
            .find(|i| matches!(self.vals.get(*i), Some(Val::T(_))));
        let sole = onnx_in.is_some_and(|i| self.uses(i) == 1);
        let Some(li) = x.layer.filter(|_| sole) else {
            return Err(at.err(
                "Add of a constant is supported only as the bias of the Gemm/MatMul/Conv it alone follows",
            ));
        };
        let (out, conv) = match self.layers[li].op {
            Op::Dense { out, .. } => (out, false),
            Op::Conv { out, .. } => (out, true),
            _ => {
                return Err(at.err(
                    "Add of a constant is supported only as the bias of the Gemm/MatMul/Conv it alone follows",
                ));
            }
        };
        let add = broadcast(at, c, out, conv)?;
        let old = self.layers[li].name.clone();
        let key = format!("{old}.bias");
        let mut bias = self.weights.remove(&key).map_or(vec![0.0; out], |t| t.data);
        bias.iter_mut().zip(&add).for_each(|(b, a)| *b += a);
        let mut name = old.clone();
        if self.layers[li].generic
            && let Some(m) = module_name(&c.name, ".bias")
            && !self.names.contains(&m)
        {
            // Named after the bias's module (MatMul weights often have no such name).
            name = self.fresh(&m);
            self.names.remove(&old);
            if let Some(w) = self.weights.remove(&format!("{old}.weight")) {
                self.weights.insert(format!("{name}.weight"), w);
            }
            self.layers[li].name = name.clone();
            self.layers[li].generic = false;
        }
        self.param(format!("{name}.bias"), vec![out], bias);
        match &mut self.layers[li].op {
            Op::Dense { bias, .. } | Op::Conv { bias, .. } => *bias = true,
            _ => {}
        }
        Ok(Val::T(Tensor {
            name,
            shape: x.shape.clone(),
            layer: Some(li),
        }))
    }

    fn conv(&mut self, at: &At) -> Result<Val, ImportError> {
        self.known(
            at,
            &[
                "kernel_shape",
                "strides",
                "pads",
                "dilations",
                "group",
                "auto_pad",
            ],
        )?;
        let a = Attrs::of(at.node);
        let e = |m: String| at.err(m);
        let x = self.tensor(at, 0)?;
        let [c, h, w] = image(at, &x)?;
        let wt = self.constant(at, 1, "W")?;
        let [out, wc, kh, kw] = wt.dims[..] else {
            return Err(at.err(format!(
                "weight `{}` has dims {:?}, not [out, in, kh, kw]",
                wt.name, wt.dims
            )));
        };
        let group = a.int("group").map_err(e)?.unwrap_or(1);
        if group != 1 {
            return Err(at.err(format!(
                "attribute group = {group} is not supported (grouped or depthwise convolution): garnet's conv2d has group 1"
            )));
        }
        if let Some(d) = a.ints("dilations").map_err(e)?
            && d.iter().any(|v| *v != 1)
        {
            return Err(at.err(format!(
                "attribute dilations = {d:?} is not supported: garnet's conv2d has no dilation"
            )));
        }
        if let Some(k) = a.ints("kernel_shape").map_err(e)?
            && k != [kh as i64, kw as i64]
        {
            return Err(at.err(format!(
                "kernel_shape = {k:?} does not match the weight's {kh}×{kw}"
            )));
        }
        let stride = one_stride(at, a.ints("strides").map_err(e)?)?;
        let padding = one_padding(at, &a, "conv2d")?;
        if wc != c {
            return Err(at.err(format!(
                "weight `{}` of dims {:?} does not take {c} channels",
                wt.name, wt.dims
            )));
        }
        if out == 0 || kh == 0 || kw == 0 {
            return Err(at.err(format!("weight `{}` has dims {:?}", wt.name, wt.dims)));
        }
        let (oh, ow) = match (
            out_size(h, kh, stride, padding),
            out_size(w, kw, stride, padding),
        ) {
            (Some(oh), Some(ow)) => (oh, ow),
            _ => return Err(at.err(format!("a {kh}×{kw} kernel does not fit the {h}×{w} input"))),
        };
        let bias = match self.input(at, 2)? {
            Some(_) => Some(broadcast(at, &self.constant(at, 2, "B")?, out, false)?),
            None => None,
        };
        let (name, g) = self.layer_name(module_name(&wt.name, ".weight"), "conv");
        self.param(
            format!("{name}.weight"),
            vec![out, c, kh, kw],
            wt.values.clone(),
        );
        let has_bias = bias.is_some();
        if let Some(b) = bias {
            self.param(format!("{name}.bias"), vec![out], b);
        }
        let op = Op::Conv {
            out,
            kh,
            kw,
            stride,
            padding,
            bias: has_bias,
        };
        Ok(self.push(at, name, g, op, &[&x], vec![out, oh, ow]))
    }

    fn pool(&mut self, at: &At) -> Result<Val, ImportError> {
        let max = at.node.op_type == "MaxPool";
        let known: &[&str] = if max {
            &[
                "kernel_shape",
                "strides",
                "pads",
                "dilations",
                "ceil_mode",
                "storage_order",
                "auto_pad",
            ]
        } else {
            &[
                "kernel_shape",
                "strides",
                "pads",
                "ceil_mode",
                "count_include_pad",
                "auto_pad",
            ]
        };
        self.known(at, known)?;
        let a = Attrs::of(at.node);
        let e = |m: String| at.err(m);
        let x = self.tensor(at, 0)?;
        let [c, h, w] = image(at, &x)?;
        let k = match a.ints("kernel_shape").map_err(e)? {
            Some([kh, kw]) if kh == kw && *kh > 0 => *kh as usize,
            Some(k) => {
                return Err(at.err(format!(
                    "kernel_shape = {k:?} is not supported: garnet's pools have a square kernel"
                )));
            }
            None => return Err(at.err("kernel_shape is missing")),
        };
        if let Some(d) = a.ints("dilations").map_err(e)?
            && d.iter().any(|v| *v != 1)
        {
            return Err(at.err(format!("attribute dilations = {d:?} is not supported")));
        }
        if a.int("storage_order").map_err(e)?.unwrap_or(0) != 0 {
            return Err(at.err("attribute storage_order = 1 is not supported"));
        }
        // ONNX's default stride is 1 (the DSL's is the kernel).
        let s = one_stride(at, a.ints("strides").map_err(e)?)?;
        if one_padding(at, &a, "pools")? != 0 {
            return Err(at.err("padding is not supported: garnet's pools have none"));
        }
        if !max && !k.is_power_of_two() {
            return Err(at.err(format!(
                "a {k}×{k} kernel: garnet's avgpool needs a power of two"
            )));
        }
        let (Some(oh), Some(ow)) = (out_size(h, k, s, 0), out_size(w, k, s, 0)) else {
            return Err(at.err(format!("a {k}×{k} window does not fit the {h}×{w} input")));
        };
        if a.int("ceil_mode").map_err(e)?.unwrap_or(0) != 0
            && ((h - k) % s != 0 || (w - k) % s != 0)
        {
            return Err(at.err("ceil_mode = 1 (with a partial last window) is not supported"));
        }
        let (op, kind) = if max {
            (Op::MaxPool { k, s }, "maxpool")
        } else {
            (Op::AvgPool { k, s }, "avgpool")
        };
        let (name, g) = self.layer_name(None, kind);
        Ok(self.push(at, name, g, op, &[&x], vec![c, oh, ow]))
    }

    fn batchnorm(&mut self, at: &At) -> Result<Val, ImportError> {
        self.known(at, &["epsilon", "momentum", "training_mode", "spatial"])?;
        let a = Attrs::of(at.node);
        let e = |m: String| at.err(m);
        if a.int("training_mode").map_err(e)?.unwrap_or(0) != 0 {
            return Err(at.err("training_mode = 1 is not supported (inference only)"));
        }
        if a.int("spatial").map_err(e)?.unwrap_or(1) != 1 {
            return Err(at.err("spatial = 0 is not supported"));
        }
        let eps = a.float("epsilon").map_err(e)?.unwrap_or(1e-5) as f64;
        let x = self.tensor(at, 0)?;
        let sole = at.node.input.first().is_some_and(|i| self.uses(i) == 1);
        let channels = match x.layer.filter(|_| sole).map(|l| &self.layers[l].op) {
            Some(Op::Dense { out, .. }) | Some(Op::Conv { out, .. }) => *out,
            _ => {
                return Err(at.err(
                    "BatchNormalization must directly follow a Gemm/MatMul/Conv whose output it alone reads (it is folded into that layer)",
                ));
            }
        };
        let mut p = Vec::new();
        for (k, what) in [(1, "scale"), (2, "B"), (3, "mean"), (4, "var")] {
            p.push(broadcast(
                at,
                &self.constant(at, k, what)?,
                channels,
                false,
            )?);
        }
        let scale = self.constant(at, 1, "scale")?;
        // The DSL divides by sqrt(running_var + 1e-5): shift the variance to the file's epsilon.
        let var: Vec<f64> = p[3].iter().map(|v| v + eps - DSL_EPS).collect();
        if let Some(c) = var.iter().position(|v| *v + DSL_EPS <= 0.0) {
            return Err(at.err(format!("channel {c} has var + epsilon ≤ 0")));
        }
        let (name, g) = self.layer_name(module_name(&scale.name, ".weight"), "bn");
        for (suffix, data) in [
            ("weight", &p[0]),
            ("bias", &p[1]),
            ("running_mean", &p[2]),
            ("running_var", &var),
        ] {
            self.param(format!("{name}.{suffix}"), vec![channels], data.clone());
        }
        let shape = x.shape.clone();
        Ok(self.push(at, name, g, Op::BatchNorm, &[&x], shape))
    }

    fn classes(&mut self, at: &At) -> Result<Val, ImportError> {
        let argmax = at.node.op_type == "ArgMax";
        let a = Attrs::of(at.node);
        let e = |m: String| at.err(m);
        let axis = if argmax {
            self.known(at, &["axis", "keepdims", "select_last_index"])?;
            if a.int("select_last_index").map_err(e)?.unwrap_or(0) != 0 {
                return Err(at.err("select_last_index = 1 is not supported (garnet's argmax takes the first maximum)"));
            }
            a.int("axis").map_err(e)?.unwrap_or(0)
        } else {
            self.known(at, &["axis"])?;
            a.int("axis").map_err(e)?.unwrap_or(-1)
        };
        let x = match self.input(at, 0)?.cloned() {
            Some(Val::Classes(t)) if argmax => t,
            _ => self.tensor(at, 0)?,
        };
        if x.shape.len() != 1 || (axis != 1 && axis != -1) {
            return Err(at.err(format!(
                "over axis {axis} of [N, {}]: garnet supports it over the classes of [N, classes]",
                join(&x.shape)
            )));
        }
        let out = at.node.output.first().cloned().unwrap_or_default();
        // Read by nothing (ArgMax) or only by ArgMax (Softmax), and reaching an output.
        let readers = self.readers.get(&out).map_or(&[][..], |r| r.as_slice());
        let ok = if argmax {
            readers.is_empty()
        } else {
            readers.iter().all(|r| r == "ArgMax")
        } && (self.outputs.contains(&out) || !readers.is_empty());
        if !ok {
            return Err(
                at.err("supported only where its result is a graph output (it becomes argmax)")
            );
        }
        Ok(Val::Classes(x))
    }

    fn reshape_to(&mut self, at: &At, x: Tensor, target: Vec<usize>) -> Result<Val, ImportError> {
        if target == x.shape {
            return Ok(self.pass(at, x));
        }
        let (op, kind) = if target.len() == 1 {
            (Op::Flatten, "flatten")
        } else {
            (Op::Reshape(target.clone()), "reshape")
        };
        let (name, g) = self.layer_name(None, kind);
        Ok(self.push(at, name, g, op, &[&x], target))
    }

    /// The graph outputs: (name, source tensor, argmax?).
    fn outputs_of(&mut self, g: &GraphProto) -> Result<Vec<(String, String, bool)>, ImportError> {
        let single = g.output.len() == 1;
        let mut res = Vec::new();
        for o in &g.output {
            let (t, classes) = match self.vals.get(&o.name) {
                Some(Val::T(t)) => (t.clone(), false),
                Some(Val::Classes(t)) => (t.clone(), true),
                Some(Val::C(_)) => {
                    return Err(ImportError::Graph(format!(
                        "graph output `{}` is a constant",
                        o.name
                    )));
                }
                None => {
                    return Err(ImportError::Graph(format!(
                        "graph output `{}` is not produced by any node",
                        o.name
                    )));
                }
            };
            let label = match self.opts.output {
                OutputKind::Auto => classes,
                OutputKind::Label => true,
                OutputKind::Tensor => false,
            };
            if label && t.shape.len() != 1 {
                return Err(ImportError::Graph(format!(
                    "graph output `{}` of shape [N, {}]: a label output needs [N, classes]",
                    o.name,
                    join(&t.shape)
                )));
            }
            let base = if label && single {
                "label".to_string()
            } else {
                sanitize(&o.name)
            };
            // A tensor output under the graph output's name, or (for the logits before a
            // dropped Softmax, or a name already taken) under the tensor's own.
            let name = if !label && (classes || base == t.name || self.names.contains(&base)) {
                t.name.clone()
            } else {
                self.fresh(&base)
            };
            res.push((name, t.name, label));
        }
        Ok(res)
    }

    fn emit(&self, inputs: &[(String, Vec<usize>)], outputs: &[(String, String, bool)]) -> String {
        let o = self.opts;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "// Imported from {} by `garnet import`.",
            comment(&o.source)
        );
        let _ = writeln!(s, "network {} {{", sanitize(&o.name));
        let _ = writeln!(s, "    format q = fixed({}, {});", o.bits, o.frac);
        for (name, shape) in inputs {
            let _ = writeln!(
                s,
                "    input  {name} : q[{}] from {};",
                join(shape),
                o.input_from
            );
        }
        if !self.weights.is_empty() {
            let _ = writeln!(
                s,
                "    params {};",
                if o.params == "public" {
                    "public".into()
                } else {
                    format!("from {}", o.params)
                }
            );
        }
        s.push('\n');
        for l in &self.layers {
            let x = l.inputs.first().cloned().unwrap_or_default();
            let bias = |b: bool| {
                if b {
                    String::new()
                } else {
                    ", bias=false".into()
                }
            };
            let call = match &l.op {
                Op::Dense { out, bias: b } => format!("dense({x}, {out}{})", bias(*b)),
                Op::Conv {
                    out,
                    kh,
                    kw,
                    stride,
                    padding,
                    bias: b,
                } => {
                    let k = if kh == kw {
                        kh.to_string()
                    } else {
                        format!("[{kh}, {kw}]")
                    };
                    format!(
                        "conv2d({x}, {out}, kernel={k}, stride={stride}, padding={padding}{})",
                        bias(*b)
                    )
                }
                Op::MaxPool { k, s } => format!("maxpool({x}, {k}, stride={s})"),
                Op::AvgPool { k, s } => format!("avgpool({x}, {k}, stride={s})"),
                Op::Relu => format!("relu({x})"),
                Op::Sigmoid => format!("sigmoid({x}, segments={})", o.segments),
                Op::Tanh => format!("tanh({x}, segments={})", o.segments),
                Op::BatchNorm => format!("batchnorm({x})"),
                Op::Flatten => format!("flatten({x})"),
                Op::Reshape(d) => format!("reshape({x}, [{}])", join(d)),
                Op::Add => format!("add({x}, {})", l.inputs.get(1).cloned().unwrap_or_default()),
            };
            let _ = writeln!(s, "    {} = {call}; // {}", l.name, l.from);
        }
        for (name, src, label) in outputs {
            let _ = match (label, name == src) {
                (true, _) => writeln!(s, "    output {name} = argmax({src}) to {};", o.output_to),
                (false, true) => writeln!(s, "    output {name} to {};", o.output_to),
                (false, false) => writeln!(s, "    output {name} = {src} to {};", o.output_to),
            };
        }
        s.push_str("}\n");
        s
    }
}

/// Text for a `//` comment: control characters (a newline would end the comment and
/// let a node name write DSL code) become spaces; at most 200 characters.
fn comment(s: &str) -> String {
    s.chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn join(d: &[usize]) -> String {
    d.iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn x_len(shape: &[usize]) -> usize {
    shape.iter().product()
}

fn image(at: &At, x: &Tensor) -> Result<[usize; 3], ImportError> {
    match x.shape[..] {
        [c, h, w] => Ok([c, h, w]),
        _ => Err(at.err(format!(
            "input of shape [N, {}]: garnet needs images [N, C, H, W] here",
            join(&x.shape)
        ))),
    }
}

fn out_size(n: usize, k: usize, s: usize, p: usize) -> Option<usize> {
    (n + 2 * p).checked_sub(k).map(|r| r / s + 1)
}

fn one_stride(at: &At, strides: Option<&[i64]>) -> Result<usize, ImportError> {
    match strides {
        None => Ok(1),
        Some([a, b]) if a == b && *a > 0 => Ok(*a as usize),
        Some(s) => Err(at.err(format!(
            "attribute strides = {s:?} is not supported: garnet has one positive stride for both axes"
        ))),
    }
}

fn one_padding(at: &At, a: &Attrs, what: &str) -> Result<usize, ImportError> {
    let e = |m: String| at.err(m);
    match a.string("auto_pad").map_err(e)?.as_deref() {
        None | Some("NOTSET") | Some("VALID") | Some("") => {}
        Some(p) => {
            return Err(at.err(format!(
                "attribute auto_pad = {p} is not supported (export with explicit pads)"
            )));
        }
    }
    match a.ints("pads").map_err(e)? {
        None => Ok(0),
        Some(p) if p.len() == 4 && p.iter().all(|v| *v == p[0]) && p[0] >= 0 => Ok(p[0] as usize),
        Some(p) => Err(at.err(format!(
            "attribute pads = {p:?} is not supported: garnet's {what} pad all four sides equally"
        ))),
    }
}

/// A per-channel constant (`[out]`, `[1, out]`, `[out, 1, 1]` for images) or a scalar,
/// as `out` values.
fn broadcast(at: &At, c: &Const, out: usize, image: bool) -> Result<Vec<f64>, ImportError> {
    let d = c.squeezed();
    let ok = c.values.len() == 1
        || if image {
            d == [out, 1, 1] || (c.dims.len() == 1 && d == [out])
        } else {
            d == [out]
        };
    if !ok {
        return Err(at.err(format!(
            "constant `{}` of dims {:?} is not one value per channel of {out}",
            c.name, c.dims
        )));
    }
    Ok(if c.values.len() == 1 {
        vec![c.values[0]; out]
    } else {
        c.values.clone()
    })
}

/// ONNX Reshape semantics (0 copies, one −1 is inferred) with batch 1; the first
/// dimension must stay the batch.
fn reshape_target(shape: &[usize], s: &Const, allowzero: bool) -> Result<Vec<usize>, String> {
    if !s.integer || s.dims.len() != 1 {
        return Err("the shape input must be a one-dimensional integer constant".into());
    }
    let full: Vec<usize> = std::iter::once(1).chain(shape.iter().copied()).collect();
    let total: usize = full.iter().product();
    let mut dims = Vec::new();
    let mut infer = None;
    for (i, v) in s.values.iter().enumerate() {
        let v = *v as i64;
        match v {
            -1 if infer.is_none() => {
                infer = Some(i);
                dims.push(1);
            }
            0 if !allowzero => dims.push(*full.get(i).ok_or("a 0 past the input's rank")?),
            v if v > 0 => dims.push(v as usize),
            _ => return Err(format!("shape {:?} is not supported", s.values)),
        }
    }
    let known: usize = dims.iter().product();
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(format!("shape {:?} does not fit {total} values", s.values));
        }
        dims[i] = total / known;
    }
    if dims.iter().product::<usize>() != total {
        return Err(format!("shape {:?} does not fit {total} values", s.values));
    }
    if dims.first() != Some(&1) || dims.len() < 2 {
        return Err(format!(
            "shape {:?} changes the batch dimension: garnet keeps [N, …]",
            s.values
        ));
    }
    Ok(dims[1..].to_vec())
}
