//! ONNX import: an `.onnx` model (as `torch.onnx.export` writes it) becomes a `.gnet`
//! network and a safetensors file of its weights under PyTorch `state_dict` names
//! (`fc1.weight [out, in]`, `conv1.weight [out, in, kh, kw]`), for the operators the
//! DSL covers. Anything else is an [`ImportError::Node`] naming the node's position,
//! name and operator.
//!
//! ```no_run
//! let bytes = std::fs::read("model.onnx").unwrap();
//! let m = garnet_onnx::import(&bytes, &garnet_onnx::Options::default()).unwrap();
//! std::fs::write("model.gnet", &m.gnet).unwrap();
//! std::fs::write("model.safetensors", m.safetensors().unwrap()).unwrap();
//! ```

mod proto;
mod translate;

use garnet_compiler::ir::Network;
use garnet_compiler::weights::{FloatTensor, Weights};
use onnx_protobuf::Message;
use std::collections::BTreeMap;

/// What the generated network declares besides the layers.
#[derive(Debug, Clone)]
pub struct Options {
    /// The network's name.
    pub name: String,
    /// `fixed(bits, frac)` of every tensor.
    pub bits: u32,
    pub frac: u32,
    /// Owner of the network inputs: `client` or `server`.
    pub input_from: String,
    /// `server`, `client` or `public`.
    pub params: String,
    /// Receiver of the outputs: `client`, `server` or `both`.
    pub output_to: String,
    /// What the outputs are.
    pub output: OutputKind,
    /// Segments of the sigmoid/tanh piecewise-linear approximations.
    pub segments: usize,
    /// The source file, named in the header comment.
    pub source: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            name: "model".into(),
            bits: 16,
            frac: 8,
            input_from: "client".into(),
            params: "server".into(),
            output_to: "client".into(),
            output: OutputKind::Auto,
            segments: 8,
            source: "model.onnx".into(),
        }
    }
}

/// The network outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// The argmax label where the graph output is a Softmax/LogSoftmax/ArgMax, else the tensor.
    Auto,
    /// Always the argmax label (of a one-dimensional tensor).
    Label,
    /// Always a tensor: a final Softmax/ArgMax is dropped and its input (the logits) output.
    Tensor,
}

/// Why a model cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Not a readable ONNX model.
    #[error("not a valid ONNX model: {0}")]
    Parse(String),
    /// A node (operator, attribute or input) garnet cannot express.
    #[error("node {index} `{name}` ({op}): {message}")]
    Node {
        /// Position in the graph's node list, from 0.
        index: usize,
        /// The node's name (`(unnamed)` when it has none).
        name: String,
        /// Its operator (`op_type`).
        op: String,
        message: String,
    },
    /// The graph's inputs, outputs or initializers.
    #[error("{0}")]
    Graph(String),
    /// Bad options (format, owners).
    #[error("{0}")]
    Options(String),
    /// The generated network does not check or its weights do not bind (a bug).
    #[error("the imported network does not compile (please report): {0}")]
    Internal(String),
}

/// An imported model.
#[derive(Debug)]
pub struct Imported {
    /// The `.gnet` source.
    pub gnet: String,
    /// Its weights by `state_dict` name (float, as in the ONNX file; folded only where
    /// the DSL has no layer for an operator, e.g. a MatMul's following Add as bias).
    pub tensors: BTreeMap<String, FloatTensor>,
    /// The checked network and its bound (quantized) weights.
    pub network: Network,
    pub weights: Weights,
}

impl Imported {
    /// The weights as a safetensors file (float32, like a PyTorch `state_dict`).
    pub fn safetensors(&self) -> Result<Vec<u8>, ImportError> {
        let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = self
            .tensors
            .iter()
            .map(|(n, t)| {
                let b = t
                    .data
                    .iter()
                    .flat_map(|v| (*v as f32).to_le_bytes())
                    .collect();
                (n.clone(), t.shape.clone(), b)
            })
            .collect();
        let views = bytes
            .iter()
            .map(|(n, s, b)| {
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                    .map(|v| (n.clone(), v))
                    .map_err(|e| ImportError::Internal(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        safetensors::tensor::serialize(views, &None)
            .map_err(|e| ImportError::Internal(e.to_string()))
    }
}

/// Parses `fixed(BITS, FRAC)` (as in the DSL; 2 ≤ BITS ≤ 32, FRAC < BITS).
pub fn parse_format(s: &str) -> Result<(u32, u32), ImportError> {
    let bad = || ImportError::Options(format!("format `{s}` is not fixed(BITS, FRAC)"));
    let inner = s
        .trim()
        .strip_prefix("fixed(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(bad)?;
    let (b, f) = inner.split_once(',').ok_or_else(bad)?;
    let bits: u32 = b.trim().parse().map_err(|_| bad())?;
    let frac: u32 = f.trim().parse().map_err(|_| bad())?;
    if !(2..=32).contains(&bits) || frac >= bits {
        return Err(ImportError::Options(format!(
            "format fixed({bits}, {frac}): BITS must be in 2..=32 and FRAC below BITS"
        )));
    }
    Ok((bits, frac))
}

/// Imports an ONNX model (the bytes of a `.onnx` file).
pub fn import(bytes: &[u8], opts: &Options) -> Result<Imported, ImportError> {
    check_options(opts)?;
    let model = onnx_protobuf::ModelProto::parse_from_bytes(bytes)
        .map_err(|e| ImportError::Parse(e.to_string()))?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| ImportError::Parse("the model has no graph".into()))?;
    let (gnet, tensors) = translate::translate(graph, opts)?;
    let network = garnet_compiler::compile_str(&gnet)
        .map_err(|e| ImportError::Internal(format!("{e}\n{gnet}")))?;
    let weights = garnet_compiler::weights::bind(&network, &tensors)
        .map_err(|e| ImportError::Internal(e.to_string()))?;
    Ok(Imported {
        gnet,
        tensors,
        network,
        weights,
    })
}

fn check_options(o: &Options) -> Result<(), ImportError> {
    let one_of = |what: &str, v: &str, allowed: &[&str]| {
        if allowed.contains(&v) {
            Ok(())
        } else {
            Err(ImportError::Options(format!(
                "{what} `{v}`: expected one of {}",
                allowed.join(", ")
            )))
        }
    };
    one_of("input owner", &o.input_from, &["client", "server"])?;
    one_of("params owner", &o.params, &["server", "client", "public"])?;
    one_of(
        "output receiver",
        &o.output_to,
        &["client", "server", "both"],
    )?;
    if !(2..=32).contains(&o.bits) || o.frac >= o.bits {
        return Err(ImportError::Options(format!(
            "format fixed({}, {}): BITS must be in 2..=32 and FRAC below BITS",
            o.bits, o.frac
        )));
    }
    if !(1..=1024).contains(&o.segments) {
        return Err(ImportError::Options(format!(
            "segments {}: must be in 1..=1024",
            o.segments
        )));
    }
    Ok(())
}
