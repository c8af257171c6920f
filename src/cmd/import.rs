//! `garnet import`: an ONNX model to a `.gnet` network and its safetensors weights.

use anyhow::{Context, Result, bail};
use garnet_circuits::format::{Replacing, same_file};
use garnet_onnx::{Options, OutputKind};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `garnet import --help`.
pub const LONG_ABOUT: &str = "Import an ONNX model (as torch.onnx.export writes it) as a .gnet \
    network and a .safetensors file of its weights under PyTorch state_dict names (fc1.weight \
    [out, in], conv1.weight [out, in, kh, kw]).\n\nOperators: Gemm, MatMul (+ Add as bias), Conv \
    (one stride, equal padding on all sides, no dilation, group 1), Relu, Sigmoid and Tanh \
    (the DSL's piecewise-linear approximations), MaxPool and AveragePool (square, no padding), \
    GlobalAveragePool, GlobalMaxPool, Flatten, Reshape, BatchNormalization (after a \
    Gemm/MatMul/Conv whose output it alone reads: the DSL's folded batchnorm), Add of two \
    tensors of one shape, Identity, Dropout, Constant, and Softmax, LogSoftmax or ArgMax at an \
    output (argmax). Anything else is an error naming the node's position, name and operator. \
    The batch dimension is dropped: an input [N, 1, 8, 8] becomes q[1, 8, 8].";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The ONNX model.
    pub file: PathBuf,
    /// The network to write; default: the model's name with the extension .gnet.
    #[arg(short = 'o', long = "output", value_name = "NET.gnet")]
    pub output: Option<PathBuf>,
    /// The weights to write; default: the network's name with the extension .safetensors.
    #[arg(long, value_name = "W.safetensors")]
    pub weights: Option<PathBuf>,
    /// Number format of every tensor.
    #[arg(long, default_value = "fixed(16, 8)", value_name = "fixed(BITS, FRAC)")]
    pub format: String,
    /// Who owns the network inputs.
    #[arg(long, default_value = "client", value_parser = ["client", "server"])]
    pub input_from: String,
    /// Who owns the weights (public: compiled into the circuit as constants).
    #[arg(long, default_value = "server", value_parser = ["server", "client", "public"])]
    pub params: String,
    /// Who learns the outputs.
    #[arg(long, default_value = "client", value_parser = ["client", "server", "both"])]
    pub output_to: String,
    /// The outputs: `auto` = the argmax label where the graph ends in Softmax, LogSoftmax
    /// or ArgMax, else the tensor; `label` = always argmax; `tensor` = always the tensor
    /// (before a final Softmax/ArgMax: the logits).
    #[arg(long, default_value = "auto", value_parser = ["auto", "label", "tensor"])]
    pub outputs: String,
    /// Segments of the sigmoid/tanh piecewise-linear approximations (1..=1024).
    #[arg(long, default_value_t = 8)]
    pub segments: usize,
    /// The network's name; default: the output file's stem.
    #[arg(long)]
    pub name: Option<String>,
}

pub fn run(args: Args) -> Result<()> {
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| args.file.with_extension("gnet"));
    let weights = args
        .weights
        .clone()
        .unwrap_or_else(|| out.with_extension("safetensors"));
    for (what, p) in [("-o", &out), ("--weights", &weights)] {
        if *p == args.file || same_file(p, &args.file) {
            bail!(
                "{what} {} is the model itself: pick another path",
                p.display()
            );
        }
    }
    if out == weights || same_file(&out, &weights) {
        bail!(
            "-o and --weights are both {}: pick two paths",
            out.display()
        );
    }
    let (bits, frac) = garnet_onnx::parse_format(&args.format)?;
    let stem = |p: &Path| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into())
    };
    let opts = Options {
        name: args.name.clone().unwrap_or_else(|| stem(&out)),
        bits,
        frac,
        input_from: args.input_from.clone(),
        params: args.params.clone(),
        output_to: args.output_to.clone(),
        output: match args.outputs.as_str() {
            "label" => OutputKind::Label,
            "tensor" => OutputKind::Tensor,
            _ => OutputKind::Auto,
        },
        segments: args.segments,
        source: args
            .file
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let m = garnet_onnx::import(&bytes, &opts)
        .with_context(|| format!("cannot import {}", args.file.display()))?;
    let st = m.safetensors()?;
    write(&weights, &st)?;
    write(&out, m.gnet.as_bytes())?;
    let outputs: Vec<&str> = m.network.outputs.iter().map(|o| o.name.as_str()).collect();
    eprintln!(
        "wrote {} ({} layers; outputs: {}) and {} ({} tensors)",
        out.display(),
        m.network.layers.len(),
        outputs.join(", "),
        weights.display(),
        m.tensors.len()
    );
    Ok(())
}

/// Writes through a temporary file renamed over `path` when complete.
fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let w = || -> std::io::Result<()> {
        let target = Replacing::create(path)?;
        let mut f = target.file()?;
        f.write_all(bytes)?;
        f.flush()?;
        drop(f);
        target.commit()
    };
    w().with_context(|| format!("cannot write {}", path.display()))
}
