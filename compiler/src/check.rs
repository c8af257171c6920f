//! Checking: names, shapes, formats and owners, with shape inference through
//! every layer. Blocks are inlined (their tensors and layers are prefixed with
//! `INSTANCE.`). All errors of the pass are reported together.

use crate::ast::{self, Arg, Expr, ExprKind, Ident, Stmt};
use crate::diagnostics::{Diagnostic, Span};
use crate::ir::{
    Activation, Format, Input, LayerId, Op, Output, OutputOwner, ParamsOwner, Party, Tensor,
    TensorId,
};
use crate::resolve::{Program, all_blocks};
use std::collections::HashMap;

/// Largest number of elements of one tensor.
pub const MAX_ELEMENTS: usize = 1 << 28;
/// Largest number of segments of a piecewise-linear activation.
pub const MAX_SEGMENTS: usize = 1024;
/// Default number of segments of `sigmoid` and `tanh`.
pub const DEFAULT_SEGMENTS: usize = 8;
/// ε of batch norm (PyTorch's default).
pub const BATCHNORM_EPS: f64 = 1e-5;

/// The layers the language knows.
pub const LAYERS: &[&str] = &[
    "dense",
    "conv2d",
    "maxpool",
    "avgpool",
    "sumpool",
    "relu",
    "sigmoid",
    "tanh",
    "batchnorm",
    "flatten",
    "reshape",
    "add",
    "sign",
    "bdense",
    "bconv2d",
    "requantize",
    "argmax",
    "project",
];

/// A tensor with the span that defined it.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedTensor {
    /// The tensor.
    pub tensor: Tensor,
    /// Where it was defined.
    pub span: Span,
}

/// A layer with the span of its call.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedLayer {
    /// Name (= output tensor name).
    pub name: String,
    /// Operation.
    pub op: Op,
    /// Input tensors.
    pub inputs: Vec<TensorId>,
    /// Output tensor.
    pub output: TensorId,
    /// `pruned=true` (dense/conv2d): the zero pattern of the weights is public.
    pub pruned: bool,
    /// The call.
    pub span: Span,
}

/// A checked network: every tensor has a shape and a format.
#[derive(Debug, Clone, PartialEq)]
pub struct Typed {
    /// Network name.
    pub name: String,
    /// Default format.
    pub default_format: Format,
    /// Parameter owner.
    pub params_owner: ParamsOwner,
    /// Tensors.
    pub tensors: Vec<TypedTensor>,
    /// Inputs.
    pub inputs: Vec<Input>,
    /// Layers in order.
    pub layers: Vec<TypedLayer>,
    /// Outputs.
    pub outputs: Vec<Output>,
}

/// Checks the program's network with the default [`crate::limits::Limits`].
pub fn check(p: &Program) -> Result<Typed, Vec<Diagnostic>> {
    check_limited(p, &crate::limits::Limits::default())
}

/// Checks the program's network; inlining stops with an error at the block call
/// that makes the network exceed `limits.max_layers` layers.
pub fn check_limited(
    p: &Program,
    limits: &crate::limits::Limits,
) -> Result<Typed, Vec<Diagnostic>> {
    let mut c = Checker {
        max_layers: limits.max_layers,
        ..Checker::default()
    };
    let mut blocks: HashMap<String, &ast::BlockDef> = HashMap::new();
    for b in all_blocks(p) {
        if LAYERS.contains(&b.name.name.as_str()) {
            c.err(
                Diagnostic::error(
                    format!("block `{}` has the name of a layer", b.name.name),
                    b.name.span,
                )
                .with_span_label("choose another name"),
            );
        } else if let Some(prev) = blocks.get(&b.name.name) {
            c.err(
                Diagnostic::error(format!("duplicate block `{}`", b.name.name), b.name.span)
                    .with_span_label("defined again here")
                    .with_label(prev.name.span, "first defined here"),
            );
        } else {
            blocks.insert(b.name.name.clone(), b);
        }
    }
    c.blocks = blocks;
    let net = match p.main.networks.as_slice() {
        [] => {
            c.err(
                Diagnostic::error("no network defined", Span::new(p.main_file, 0, 0))
                    .with_note("the main file must contain `network NAME { ... }`"),
            );
            return Err(c.diags);
        }
        [n, rest @ ..] => {
            for r in rest {
                c.err(
                    Diagnostic::error("more than one network in a file", r.name.span)
                        .with_span_label("second network")
                        .with_label(n.name.span, "first network"),
                );
            }
            n
        }
    };
    c.network(net);
    if c.diags.is_empty() {
        Ok(Typed {
            name: net.name.name.clone(),
            default_format: c
                .default_format
                .unwrap_or(Format::Fixed { bits: 16, frac: 8 }),
            params_owner: c.params_owner.map(|p| p.0).unwrap_or(ParamsOwner::Public),
            tensors: c.tensors,
            inputs: c.inputs,
            layers: c.layers,
            outputs: c.outputs,
        })
    } else {
        Err(c.diags)
    }
}

#[derive(Default)]
struct Scope {
    prefix: String,
    env: HashMap<String, (TensorId, Span)>,
    /// Names whose definition failed (already reported): uses stay quiet.
    poisoned: std::collections::HashSet<String>,
}

/// Where the value of an expression goes.
#[derive(Clone)]
struct Target {
    /// Full IR name.
    name: String,
    /// Span of the name.
    span: Span,
    /// Requested output format.
    format: Option<(Format, Span)>,
    /// False for nested calls (anonymous layers).
    named: bool,
}

#[derive(Default)]
struct Checker<'a> {
    diags: Vec<Diagnostic>,
    blocks: HashMap<String, &'a ast::BlockDef>,
    formats: HashMap<String, (Format, Span)>,
    bad_formats: std::collections::HashSet<String>,
    default_format: Option<Format>,
    params_owner: Option<(ParamsOwner, Span)>,
    tensors: Vec<TypedTensor>,
    layers: Vec<TypedLayer>,
    producer: HashMap<TensorId, LayerId>,
    uses: Vec<usize>,
    inputs: Vec<Input>,
    outputs: Vec<Output>,
    output_spans: HashMap<String, Span>,
    /// (batchnorm layer, folded tensor)
    batchnorms: Vec<(LayerId, TensorId)>,
    /// Inputs that a `project` reads (each must have no other use).
    projections: Vec<TensorId>,
    block_stack: Vec<String>,
    anon: usize,
    /// Most layers after inlining ([`crate::limits::Limits::max_layers`]).
    max_layers: usize,
    /// Set once inlining crossed `max_layers`: later calls stop at once, so the
    /// work after the error is bounded by the calls already under way.
    inline_overflow: bool,
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn shape_str(s: &[usize]) -> String {
    format!(
        "[{}]",
        s.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Edit distance, for "did you mean" notes.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn suggest<'s>(name: &str, candidates: impl Iterator<Item = &'s str>) -> Option<String> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = distance(name, c);
        if d <= 2
            && d < name.len().max(1)
            && best.is_none_or(|(bd, bn)| d < bd || (d == bd && c < bn))
        {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}

enum ArgKind {
    Tensor,
    Int,
    Bool,
    Kernel,
    FormatName,
    Shape,
}

impl<'a> Checker<'a> {
    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// The output format of a dense or conv layer (`: FMT`, else the default), which
    /// must be fixed-point; an error at the format (or the layer) otherwise.
    fn fixed_output(
        &mut self,
        layer: &str,
        target: &Target,
        default: Format,
        span: Span,
    ) -> Option<Format> {
        let f = target.format.map(|f| f.0).unwrap_or(default);
        if !f.is_fixed() {
            self.err(Diagnostic::error(
                format!("{layer} output must be fixed-point"),
                target.format.map(|f| f.1).unwrap_or(span),
            ));
            return None;
        }
        Some(f)
    }

    fn network(&mut self, net: &'a ast::Network) {
        // Formats first, so that they can be used anywhere in the body.
        for s in &net.stmts {
            if let Stmt::Format { name, value, .. } = s {
                let Some(f) = self.format_def(value) else {
                    self.bad_formats.insert(name.name.clone());
                    continue;
                };
                if let Some((_, prev)) = self.formats.get(&name.name) {
                    let prev = *prev;
                    self.err(
                        Diagnostic::error(format!("duplicate format `{}`", name.name), name.span)
                            .with_span_label("defined again here")
                            .with_label(prev, "first defined here"),
                    );
                    continue;
                }
                if self.default_format.is_none() && f.is_fixed() {
                    self.default_format = Some(f);
                }
                self.formats.insert(name.name.clone(), (f, name.span));
            }
        }
        if self.default_format.is_none() && self.bad_formats.is_empty() {
            self.err(
                Diagnostic::error(format!("network `{}` declares no fixed-point format", net.name.name), net.name.span)
                    .with_span_label("no default number format")
                    .with_note("the first `format NAME = fixed(BITS, FRAC);` is the network's default; add e.g. `format q = fixed(16, 8);`"),
            );
        }
        if self.default_format.is_none() {
            self.default_format = Some(Format::Fixed { bits: 16, frac: 8 });
        }
        let mut scope = Scope::default();
        for s in &net.stmts {
            self.stmt(s, &mut scope, false);
        }
        let needs_params = self.layers.iter().any(|l| {
            matches!(
                l.op,
                Op::Dense { .. }
                    | Op::Conv2d { .. }
                    | Op::BDense { .. }
                    | Op::BConv2d { .. }
                    | Op::BatchNorm { .. }
            )
        });
        if needs_params && self.params_owner.is_none() {
            let first = self.layers.iter().find(|l| {
                matches!(
                    l.op,
                    Op::Dense { .. }
                        | Op::Conv2d { .. }
                        | Op::BDense { .. }
                        | Op::BConv2d { .. }
                        | Op::BatchNorm { .. }
                )
            });
            let mut d = Diagnostic::error("missing owner for the parameters", net.name.span)
                .with_span_label("this network has weights but no `params` declaration")
                .with_note("add `params from server;`, `params from client;` or `params public;`");
            if let Some(l) = first {
                d = d.with_label(l.span, format!("`{}` has parameters", l.name));
            }
            self.err(d);
        }
        if self.outputs.is_empty() && self.diags.is_empty() {
            self.err(
                Diagnostic::error(
                    format!("network `{}` has no outputs", net.name.name),
                    net.name.span,
                )
                .with_span_label("nothing is revealed")
                .with_note("add e.g. `output label = argmax(x) to client;`"),
            );
        }
        self.check_batchnorms();
        self.check_projections();
    }

    /// A projected input is replaced by its projection in the circuit: nothing else
    /// may read it.
    fn check_projections(&mut self) {
        for t in self.projections.clone() {
            let uses = self.uses.get(t).copied().unwrap_or(0);
            let is_output = self.outputs.iter().any(|o| o.tensor == t);
            if uses > 1 || is_output {
                let name = self.tensors[t].tensor.name.clone();
                self.err(
                    Diagnostic::error(
                        format!("`{name}` is projected by the client and cannot be used elsewhere"),
                        self.tensors[t].span,
                    )
                    .with_span_label("projected input")
                    .with_note("the circuit receives only the projection; use its output instead"),
                );
            }
        }
    }

    fn check_batchnorms(&mut self) {
        for (bn, t) in self.batchnorms.clone() {
            let uses = self.uses.get(t).copied().unwrap_or(0);
            let is_output = self.outputs.iter().any(|o| o.tensor == t);
            if uses > 1 || is_output {
                let name = self.tensors[t].tensor.name.clone();
                self.err(
                    Diagnostic::error(
                        format!(
                            "`{name}` is folded into a batch norm and cannot be used elsewhere"
                        ),
                        self.layers[bn].span,
                    )
                    .with_span_label("batch norm folded into its input")
                    .with_label(self.tensors[t].span, "defined here")
                    .with_note("use the batch norm's output instead"),
                );
            }
        }
    }

    fn format_def(&mut self, e: &Expr) -> Option<Format> {
        let bad = |e: &Expr, why: &str| {
            Diagnostic::error("bad format", e.span)
                .with_span_label(why.to_string())
                .with_note("a format is `fixed(BITS, FRAC)` with 2 <= BITS <= 32 and 0 <= FRAC < BITS, or `binary`")
        };
        match &e.kind {
            ExprKind::Name(n) if n == "binary" => Some(Format::Binary),
            ExprKind::Call { func, args } if func.name == "fixed" => {
                if args.len() != 2 || args.iter().any(|a| a.name.is_some()) {
                    self.err(bad(
                        e,
                        &format!(
                            "`fixed` takes two integers, got {}",
                            plural(args.len(), "argument")
                        ),
                    ));
                    return None;
                }
                match (&args[0].value.kind, &args[1].value.kind) {
                    (ExprKind::Int(b), ExprKind::Int(f)) => {
                        if !(2..=32).contains(b) {
                            self.err(bad(&args[0].value, &format!("{b} bits is not in 2..=32")));
                            None
                        } else if *f < 0 || f >= b {
                            self.err(bad(
                                &args[1].value,
                                &format!("{f} fraction bits is not in 0..{b}"),
                            ));
                            None
                        } else {
                            Some(Format::Fixed {
                                bits: *b as u32,
                                frac: *f as u32,
                            })
                        }
                    }
                    _ => {
                        self.err(bad(e, "`fixed` takes two integers"));
                        None
                    }
                }
            }
            _ => {
                self.err(bad(e, "expected `fixed(BITS, FRAC)` or `binary`"));
                None
            }
        }
    }

    fn lookup_format(&mut self, id: &Ident) -> Option<Format> {
        match self.formats.get(&id.name) {
            Some((f, _)) => Some(*f),
            None if self.bad_formats.contains(&id.name) => None,
            None => {
                let mut d = Diagnostic::error(format!("unknown format `{}`", id.name), id.span)
                    .with_span_label("not declared");
                if let Some(s) = suggest(&id.name, self.formats.keys().map(String::as_str)) {
                    d = d.with_note(s);
                } else {
                    d = d.with_note("declare it with `format NAME = fixed(BITS, FRAC);`");
                }
                self.err(d);
                None
            }
        }
    }

    fn define(&mut self, scope: &mut Scope, name: &Ident, t: TensorId) {
        if let Some((_, prev)) = scope.env.get(&name.name) {
            let prev = *prev;
            self.err(
                Diagnostic::error(format!("duplicate name `{}`", name.name), name.span)
                    .with_span_label("defined again here")
                    .with_label(prev, "first defined here"),
            );
            return;
        }
        scope.env.insert(name.name.clone(), (t, name.span));
    }

    fn new_tensor(
        &mut self,
        name: String,
        shape: Vec<usize>,
        format: Format,
        span: Span,
    ) -> TensorId {
        self.tensors.push(TypedTensor {
            tensor: Tensor {
                name,
                shape,
                format,
            },
            span,
        });
        self.uses.push(0);
        self.tensors.len() - 1
    }

    fn stmt(&mut self, s: &'a Stmt, scope: &mut Scope, in_block: bool) {
        let not_in_block = |what: &str, span: Span| {
            Diagnostic::error(format!("`{what}` is not allowed in a block"), span)
                .with_span_label("only `NAME = ...;` and `return` statements")
                .with_note("declare inputs, outputs, formats and params in the network")
        };
        match s {
            Stmt::Error(_) => {}
            Stmt::Format { span, .. } => {
                if in_block {
                    self.err(not_in_block("format", *span));
                }
            }
            Stmt::Public { span, .. } => {
                if in_block {
                    self.err(not_in_block("public", *span));
                }
            }
            Stmt::Return { span, .. } => {
                if !in_block {
                    self.err(
                        Diagnostic::error("`return` outside a block", *span)
                            .with_span_label("networks name their results with `output`"),
                    );
                }
            }
            Stmt::Params { owner, span } => {
                if in_block {
                    self.err(not_in_block("params", *span));
                    return;
                }
                let o = match owner.name.as_str() {
                    "public" => ParamsOwner::Public,
                    "client" => ParamsOwner::Party(Party::Client),
                    "server" => ParamsOwner::Party(Party::Server),
                    other => {
                        self.err(
                            Diagnostic::error(format!("unknown owner `{other}`"), owner.span)
                                .with_span_label("expected `client` or `server`")
                                .with_note("write `params from server;`, `params from client;` or `params public;`"),
                        );
                        return;
                    }
                };
                if let Some((_, prev)) = self.params_owner {
                    self.err(
                        Diagnostic::error("duplicate `params` declaration", *span)
                            .with_span_label("declared again here")
                            .with_label(prev, "first declared here"),
                    );
                    return;
                }
                self.params_owner = Some((o, *span));
            }
            Stmt::Input {
                name,
                format,
                shape,
                shape_span,
                owner,
                span,
            } => {
                if in_block {
                    self.err(not_in_block("input", *span));
                    return;
                }
                let fmt = match format {
                    Some(f) => self.lookup_format(f),
                    None => self.default_format,
                };
                let dims = self.shape_list(shape, *shape_span, false);
                let party = match owner {
                    None => {
                        self.err(
                            Diagnostic::error(
                                format!("missing owner for input `{}`", name.name),
                                *span,
                            )
                            .with_span_label("who provides this input?")
                            .with_note(format!(
                                "write `input {} : ... from client;` or `from server`",
                                name.name
                            )),
                        );
                        None
                    }
                    Some(o) => match o.name.as_str() {
                        "client" => Some(Party::Client),
                        "server" => Some(Party::Server),
                        other => {
                            let mut d =
                                Diagnostic::error(format!("unknown owner `{other}`"), o.span)
                                    .with_span_label("expected `client` or `server`");
                            if let Some(s) = suggest(other, ["client", "server"].into_iter()) {
                                d = d.with_note(s);
                            }
                            self.err(d);
                            None
                        }
                    },
                };
                if let (Some(f), Some(dims), Some(p)) = (fmt, dims, party) {
                    let t = self.new_tensor(name.name.clone(), dims, f, name.span);
                    self.inputs.push(Input {
                        tensor: t,
                        owner: p,
                    });
                    self.define(scope, name, t);
                } else {
                    scope.poisoned.insert(name.name.clone());
                }
            }
            Stmt::Let {
                name,
                format,
                value,
                ..
            } => {
                let fmt = match format {
                    Some(f) => match self.lookup_format(f) {
                        Some(x) => Some((x, f.span)),
                        None => {
                            scope.poisoned.insert(name.name.clone());
                            return;
                        }
                    },
                    None => None,
                };
                if scope.env.contains_key(&name.name) {
                    self.define(scope, name, 0); // reports the duplicate
                    return;
                }
                let target = Target {
                    name: format!("{}{}", scope.prefix, name.name),
                    span: name.span,
                    format: fmt,
                    named: true,
                };
                match self.expr(value, scope, target) {
                    Some(t) => self.define(scope, name, t),
                    None => {
                        scope.poisoned.insert(name.name.clone());
                    }
                }
            }
            Stmt::Output {
                name,
                format,
                value,
                to,
                span,
            } => {
                if in_block {
                    self.err(not_in_block("output", *span));
                    return;
                }
                let fmt = match format {
                    Some(f) => match self.lookup_format(f) {
                        Some(x) => Some((x, f.span)),
                        None => return,
                    },
                    None => None,
                };
                let owner = match to {
                    None => Some(OutputOwner::Client),
                    Some(o) => match o.name.as_str() {
                        "client" => Some(OutputOwner::Client),
                        "server" => Some(OutputOwner::Server),
                        "both" => Some(OutputOwner::Both),
                        other => {
                            self.err(
                                Diagnostic::error(format!("unknown receiver `{other}`"), o.span)
                                    .with_span_label("expected `client`, `server` or `both`"),
                            );
                            None
                        }
                    },
                };
                if let Some(prev) = self.output_spans.get(&name.name) {
                    let prev = *prev;
                    self.err(
                        Diagnostic::error(format!("duplicate output `{}`", name.name), name.span)
                            .with_span_label("declared again here")
                            .with_label(prev, "first declared here"),
                    );
                    return;
                }
                self.output_spans.insert(name.name.clone(), name.span);
                let t = match value {
                    Some(v) => {
                        if scope.env.contains_key(&name.name) {
                            self.define(scope, name, 0);
                            return;
                        }
                        let target = Target {
                            name: name.name.clone(),
                            span: name.span,
                            format: fmt,
                            named: true,
                        };
                        let t = self.expr(v, scope, target);
                        match t {
                            Some(t) => self.define(scope, name, t),
                            None => {
                                scope.poisoned.insert(name.name.clone());
                            }
                        }
                        t
                    }
                    None => {
                        let target = Target {
                            name: name.name.clone(),
                            span: name.span,
                            format: fmt,
                            named: true,
                        };
                        self.name_ref(&name.name, name.span, scope, &target)
                    }
                };
                if let (Some(t), Some(owner)) = (t, owner) {
                    self.outputs.push(Output {
                        name: name.name.clone(),
                        tensor: t,
                        owner,
                    });
                }
            }
        }
    }

    fn shape_list(&mut self, dims: &[Expr], span: Span, allow_infer: bool) -> Option<Vec<usize>> {
        let mut out = Vec::new();
        let mut ok = true;
        for d in dims {
            match d.kind {
                ExprKind::Int(n) if n > 0 && (n as u64) <= MAX_ELEMENTS as u64 => {
                    out.push(n as usize)
                }
                ExprKind::Int(-1) if allow_infer => out.push(0),
                _ => {
                    self.err(Diagnostic::error("bad dimension", d.span).with_span_label(
                        if allow_infer {
                            "expected a positive integer or -1"
                        } else {
                            "expected a positive integer"
                        },
                    ));
                    ok = false;
                }
            }
        }
        if dims.is_empty() {
            self.err(
                Diagnostic::error("empty shape", span)
                    .with_span_label("a tensor needs at least one dimension"),
            );
            return None;
        }
        if ok && !allow_infer && elements(&out).is_none() {
            self.err(
                Diagnostic::error("tensor too large", span)
                    .with_span_label(format!("more than {MAX_ELEMENTS} elements")),
            );
            return None;
        }
        ok.then_some(out)
    }

    /// Evaluates a tensor-valued expression into `target`.
    fn expr(&mut self, e: &'a Expr, scope: &mut Scope, target: Target) -> Option<TensorId> {
        match &e.kind {
            ExprKind::Name(n) => self.name_ref(n, e.span, scope, &target),
            ExprKind::Int(_) | ExprKind::List(_) => {
                self.err(
                    Diagnostic::error("expected a tensor", e.span)
                        .with_span_label("this is not a tensor"),
                );
                None
            }
            ExprKind::Call { func, args } => {
                if LAYERS.contains(&func.name.as_str()) {
                    self.layer(func, args, e.span, scope, target)
                } else if let Some(b) = self.blocks.get(&func.name).copied() {
                    self.instantiate(b, func, args, e.span, scope, target)
                } else {
                    let mut d =
                        Diagnostic::error(format!("unknown layer `{}`", func.name), func.span)
                            .with_span_label("no layer or block has this name");
                    let names: Vec<&str> = LAYERS
                        .iter()
                        .copied()
                        .chain(self.blocks.keys().map(String::as_str))
                        .collect();
                    d = match suggest(&func.name, names.iter().copied()) {
                        Some(s) => d.with_note(s),
                        None => d.with_note(format!("layers: {}", LAYERS.join(", "))),
                    };
                    self.err(d);
                    None
                }
            }
        }
    }

    fn name_ref(
        &mut self,
        n: &str,
        espan: Span,
        scope: &Scope,
        target: &Target,
    ) -> Option<TensorId> {
        let Some(&(t, _)) = scope.env.get(n) else {
            if scope.poisoned.contains(n) {
                return None;
            }
            let mut d = Diagnostic::error(format!("undefined name `{n}`"), espan)
                .with_span_label("not defined before this point");
            if let Some(s) = suggest(n, scope.env.keys().map(String::as_str)) {
                d = d.with_note(s);
            }
            self.err(d);
            return None;
        };
        if let Some((f, fspan)) = target.format {
            let have = self.tensors[t].tensor.format;
            if f != have {
                self.err(
                    Diagnostic::error(format!("`{n}` has format {have}, not {f}"), fspan)
                        .with_span_label(format!("{f} requested here"))
                        .with_label(espan, format!("this is {have}"))
                        .with_note(format!("use `requantize({n}, FORMAT)` to change formats")),
                );
                return None;
            }
        }
        Some(t)
    }

    fn instantiate(
        &mut self,
        b: &'a ast::BlockDef,
        func: &Ident,
        args: &'a [Arg],
        span: Span,
        scope: &mut Scope,
        target: Target,
    ) -> Option<TensorId> {
        if !target.named {
            self.err(
                Diagnostic::error(
                    format!("block `{}` must be called on its own line", func.name),
                    span,
                )
                .with_span_label("nested block call")
                .with_note("write `NAME = block(...);` so that its layers get names"),
            );
            return None;
        }
        if self.inline_overflow {
            return None;
        }
        if self.layers.len() >= self.max_layers {
            self.inline_overflow = true;
            let mut chain: Vec<&str> = self.block_stack.iter().map(String::as_str).collect();
            chain.push(&b.name.name);
            let shown = if chain.len() > 8 {
                let n = chain.len();
                format!(
                    "{} -> ... ({} more) -> {}",
                    chain[..3].join(" -> "),
                    n - 6,
                    chain[n - 3..].join(" -> ")
                )
            } else {
                chain.join(" -> ")
            };
            self.err(
                Diagnostic::error(
                    format!(
                        "inlining block `{}` makes the network larger than the limit of {} layers",
                        b.name.name, self.max_layers
                    ),
                    span,
                )
                .with_span_label("the limit is crossed in this call")
                .with_note(format!("calls being inlined: {shown}"))
                .with_note(
                    "every call inlines a copy of the block's layers, so blocks calling blocks several times grow exponentially",
                ),
            );
            return None;
        }
        if let Some(pos) = self.block_stack.iter().position(|x| *x == b.name.name) {
            let mut chain = self.block_stack[pos..].to_vec();
            chain.push(b.name.name.clone());
            self.err(
                Diagnostic::error(format!("block `{}` calls itself", b.name.name), func.span)
                    .with_span_label("recursive call")
                    .with_label(b.name.span, "block defined here")
                    .with_note(format!("cycle: {}", chain.join(" -> "))),
            );
            return None;
        }
        if args.len() != b.params.len() || args.iter().any(|a| a.name.is_some()) {
            self.err(
                Diagnostic::error(
                    format!(
                        "block `{}` takes {}",
                        b.name.name,
                        plural(b.params.len(), "tensor")
                    ),
                    span,
                )
                .with_span_label(format!("called with {}", plural(args.len(), "argument")))
                .with_label(b.name.span, "block defined here"),
            );
            return None;
        }
        let mut inner = Scope {
            prefix: format!("{}.", target.name),
            ..Scope::default()
        };
        let mut ok = true;
        for (i, (p, a)) in b.params.iter().zip(args).enumerate() {
            let t = self.expr(
                &a.value,
                scope,
                Target {
                    name: format!("{}/arg{i}", target.name),
                    span: a.value.span,
                    format: None,
                    named: false,
                },
            );
            match t {
                Some(t) => {
                    if inner.env.contains_key(&p.name) {
                        self.define(&mut inner, p, t);
                        ok = false;
                    } else {
                        self.use_tensor(t);
                        inner.env.insert(p.name.clone(), (t, p.span));
                    }
                }
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        self.block_stack.push(b.name.name.clone());
        let mut result = None;
        let mut returned = false;
        let before = self.diags.len();
        for s in &b.stmts {
            if let Stmt::Return { value, span } = s {
                if returned {
                    self.err(
                        Diagnostic::error("second `return` in a block", *span)
                            .with_span_label("a block returns once"),
                    );
                    continue;
                }
                returned = true;
                let t = Target {
                    name: target.name.clone(),
                    span: target.span,
                    format: target.format,
                    named: true,
                };
                result = self.expr(value, &mut inner, t);
            } else if returned {
                self.err(
                    Diagnostic::error("statement after `return`", stmt_span(s))
                        .with_span_label("unreachable"),
                );
            } else {
                self.stmt(s, &mut inner, true);
            }
        }
        self.block_stack.pop();
        if !returned {
            self.err(
                Diagnostic::error(
                    format!("block `{}` has no `return`", b.name.name),
                    b.name.span,
                )
                .with_span_label("add `return NAME;` at the end"),
            );
        }
        // After an inlining overflow the note names the chain of calls: label only
        // the outermost call, not every level.
        let label_call = !self.inline_overflow || self.block_stack.is_empty();
        if self.diags.len() > before && !label_call {
            return None;
        }
        if self.diags.len() > before {
            // Errors inside the block: point at the call too.
            if let Some(last) = self
                .diags
                .last_mut()
                .filter(|d| d.labels.iter().all(|l| l.span != span))
            {
                last.labels.push(crate::diagnostics::Label {
                    span,
                    message: format!("in this call of `{}`", b.name.name),
                });
            }
            return None;
        }
        result
    }

    fn use_tensor(&mut self, t: TensorId) {
        if let Some(u) = self.uses.get_mut(t) {
            *u += 1;
        }
    }

    /// Binds call arguments to a layer signature. Returns one slot per signature entry.
    fn bind_args(
        &mut self,
        func: &Ident,
        args: &'a [Arg],
        span: Span,
        sig: &[(&str, bool)],
    ) -> Option<Vec<Option<&'a Expr>>> {
        let mut slots: Vec<Option<&'a Expr>> = vec![None; sig.len()];
        let mut ok = true;
        let mut positional = 0;
        for a in args {
            match &a.name {
                None => {
                    if positional >= sig.len() {
                        self.err(
                            Diagnostic::error(
                                format!("too many arguments to `{}`", func.name),
                                a.value.span,
                            )
                            .with_span_label("unexpected argument")
                            .with_note(signature(&func.name, sig)),
                        );
                        ok = false;
                    } else {
                        slots[positional] = Some(&a.value);
                    }
                    positional += 1;
                }
                Some(n) => match sig.iter().position(|(s, _)| *s == n.name) {
                    None => {
                        self.err(
                            Diagnostic::error(
                                format!("`{}` has no argument `{}`", func.name, n.name),
                                n.span,
                            )
                            .with_span_label("unknown argument")
                            .with_note(signature(&func.name, sig)),
                        );
                        ok = false;
                    }
                    Some(i) if slots[i].is_some() => {
                        self.err(
                            Diagnostic::error(format!("argument `{}` given twice", n.name), n.span)
                                .with_span_label("already given"),
                        );
                        ok = false;
                    }
                    Some(i) => slots[i] = Some(&a.value),
                },
            }
        }
        for (i, (name, required)) in sig.iter().enumerate() {
            if *required && slots[i].is_none() && ok {
                self.err(
                    Diagnostic::error(
                        format!("missing argument `{name}` of `{}`", func.name),
                        span,
                    )
                    .with_span_label(format!("`{name}` is required"))
                    .with_note(signature(&func.name, sig)),
                );
                ok = false;
            }
        }
        ok.then_some(slots)
    }

    fn int_arg(
        &mut self,
        e: Option<&Expr>,
        what: &str,
        default: Option<i64>,
        min: i64,
    ) -> Option<usize> {
        let Some(e) = e else {
            return default.map(|d| d as usize);
        };
        match e.kind {
            ExprKind::Int(n) if n >= min && n <= MAX_ELEMENTS as i64 => Some(n as usize),
            _ => {
                self.err(
                    Diagnostic::error(format!("bad {what}"), e.span)
                        .with_span_label(format!("expected an integer >= {min}")),
                );
                None
            }
        }
    }

    fn bool_arg(&mut self, e: Option<&Expr>, what: &str, default: bool) -> Option<bool> {
        let Some(e) = e else { return Some(default) };
        match &e.kind {
            ExprKind::Name(n) if n == "true" => Some(true),
            ExprKind::Name(n) if n == "false" => Some(false),
            _ => {
                self.err(
                    Diagnostic::error(format!("bad {what}"), e.span)
                        .with_span_label("expected `true` or `false`"),
                );
                None
            }
        }
    }

    fn kernel_arg(&mut self, e: Option<&Expr>) -> Option<(usize, usize)> {
        let e = e?;
        match &e.kind {
            ExprKind::Int(n) if *n >= 1 && *n <= MAX_ELEMENTS as i64 => {
                Some((*n as usize, *n as usize))
            }
            ExprKind::List(v) if v.len() == 2 => match (&v[0].kind, &v[1].kind) {
                (ExprKind::Int(a), ExprKind::Int(b))
                    if *a >= 1
                        && *b >= 1
                        && *a <= MAX_ELEMENTS as i64
                        && *b <= MAX_ELEMENTS as i64 =>
                {
                    Some((*a as usize, *b as usize))
                }
                _ => {
                    self.err(
                        Diagnostic::error("bad kernel size", e.span)
                            .with_span_label("expected positive integers"),
                    );
                    None
                }
            },
            _ => {
                self.err(
                    Diagnostic::error("bad kernel size", e.span)
                        .with_span_label("expected a positive integer or `[HEIGHT, WIDTH]`"),
                );
                None
            }
        }
    }

    fn tensor_arg(
        &mut self,
        e: &'a Expr,
        scope: &mut Scope,
        target: &Target,
        k: usize,
    ) -> Option<TensorId> {
        self.anon += 1;
        let t = Target {
            name: format!("{}/{}{}", target.name, k, self.anon),
            span: e.span,
            format: None,
            named: false,
        };
        let r = self.expr(e, scope, t)?;
        self.use_tensor(r);
        Some(r)
    }

    fn layer(
        &mut self,
        func: &Ident,
        args: &'a [Arg],
        span: Span,
        scope: &mut Scope,
        target: Target,
    ) -> Option<TensorId> {
        use ArgKind::*;
        let sig: &[(&str, bool, ArgKind)] = match func.name.as_str() {
            "dense" => &[
                ("x", true, Tensor),
                ("out", true, Int),
                ("bias", false, Bool),
                ("pruned", false, Bool),
            ],
            "project" => &[("x", true, Tensor), ("out", true, Int)],
            "bdense" => &[
                ("x", true, Tensor),
                ("out", true, Int),
                ("bias", false, Bool),
                ("scores", false, Bool),
            ],
            "conv2d" => &[
                ("x", true, Tensor),
                ("out", true, Int),
                ("kernel", true, Kernel),
                ("stride", false, Int),
                ("padding", false, Int),
                ("bias", false, Bool),
                ("pruned", false, Bool),
            ],
            "bconv2d" => &[
                ("x", true, Tensor),
                ("out", true, Int),
                ("kernel", true, Kernel),
                ("stride", false, Int),
                ("padding", false, Int),
                ("bias", false, Bool),
                ("scores", false, Bool),
            ],
            "maxpool" | "avgpool" | "sumpool" => &[
                ("x", true, Tensor),
                ("kernel", true, Int),
                ("stride", false, Int),
            ],
            "sigmoid" | "tanh" => &[("x", true, Tensor), ("segments", false, Int)],
            "reshape" => &[("x", true, Tensor), ("shape", true, Shape)],
            "add" => &[("a", true, Tensor), ("b", true, Tensor)],
            "requantize" => &[("x", true, Tensor), ("format", true, FormatName)],
            _ => &[("x", true, Tensor)],
        };
        let plain: Vec<(&str, bool)> = sig.iter().map(|(n, r, _)| (*n, *r)).collect();
        let slots = self.bind_args(func, args, span, &plain)?;
        // Evaluate tensor arguments first (they may be nested layers).
        let mut tensors = Vec::new();
        for (i, (_, _, kind)) in sig.iter().enumerate() {
            if let (Tensor, Some(e)) = (kind, slots[i]) {
                tensors.push(self.tensor_arg(e, scope, &target, i));
            }
        }
        let tensors: Vec<TensorId> = tensors.into_iter().collect::<Option<Vec<_>>>()?;
        let x = tensors[0];
        let slot = |name: &str| {
            plain
                .iter()
                .position(|(n, _)| *n == name)
                .and_then(|i| slots[i])
        };
        let xt = self.tensors[x].tensor.clone();
        let xspan = slots[0].map(|e| e.span).unwrap_or(span);
        let name = func.name.as_str();
        let default = self
            .default_format
            .unwrap_or(Format::Fixed { bits: 16, frac: 8 });

        // Input format requirements.
        let needs_binary = matches!(name, "bdense" | "bconv2d");
        let any_format = matches!(name, "maxpool" | "flatten" | "reshape" | "batchnorm");
        if needs_binary && xt.format != Format::Binary {
            self.err(
                Diagnostic::error(format!("`{name}` needs a binary input"), xspan)
                    .with_span_label(format!("`{}` is {}", xt.name, xt.format))
                    .with_note(format!("binarize it first with `sign({})`", xt.name)),
            );
            return None;
        }
        if !needs_binary && !any_format && !xt.format.is_fixed() {
            let mut d = Diagnostic::error(format!("`{name}` needs a fixed-point input"), xspan)
                .with_span_label(format!("`{}` is {}", xt.name, xt.format));
            if xt.format == Format::Binary && matches!(name, "dense" | "conv2d") {
                d = d.with_note(format!("use `b{name}` for binary inputs"));
            }
            self.err(d);
            return None;
        }
        let keep = |this: &mut Self, f: Format| -> Option<Format> {
            if let Some((want, fspan)) = target.format.filter(|(want, _)| *want != f) {
                this.err(
                    Diagnostic::error(format!("`{name}` produces {f}, not {want}"), fspan)
                        .with_span_label(format!("{want} requested here"))
                        .with_label(span, format!("this `{name}` produces {f}"))
                        .with_note("only dense, conv2d, bdense/bconv2d with scores and requantize choose their output format"),
                );
                return None;
            }
            Some(f)
        };
        let needs_params = matches!(
            name,
            "dense" | "conv2d" | "bdense" | "bconv2d" | "batchnorm" | "project"
        );
        let pruned = self.bool_arg(slot("pruned"), "pruned flag", false)?;
        if needs_params && !target.named {
            self.err(
                Diagnostic::error(format!("`{name}` has parameters and must be named"), span)
                    .with_span_label("anonymous layer with weights")
                    .with_note(format!("write `NAME = {name}(...);` on its own line; its weights are `NAME.weight`, ...")),
            );
            return None;
        }

        let (op, shape, format): (Op, Vec<usize>, Format) = match name {
            "dense" | "bdense" => {
                let out = self.int_arg(slot("out"), "output size", None, 1);
                let bias = self.bool_arg(slot("bias"), "bias flag", true);
                let scores = self.bool_arg(slot("scores"), "scores flag", false);
                let (out, bias, scores) = (out?, bias?, scores?);
                if xt.shape.len() != 1 {
                    self.err(
                        Diagnostic::error(format!("`{name}` needs a 1-D input"), xspan)
                            .with_span_label(format!(
                                "`{}` has shape {}",
                                xt.name,
                                shape_str(&xt.shape)
                            ))
                            .with_note(format!(
                                "flatten it first: `{} = flatten({})`",
                                "x", xt.name
                            )),
                    );
                    return None;
                }
                if name == "dense" {
                    let f = self.fixed_output("dense", &target, default, span)?;
                    (
                        Op::Dense {
                            out,
                            bias,
                            weight_format: f,
                        },
                        vec![out],
                        f,
                    )
                } else {
                    let f = if scores {
                        target.format.map(|f| f.0).unwrap_or(default)
                    } else {
                        keep(self, Format::Binary)?
                    };
                    if scores && !f.is_fixed() {
                        self.err(Diagnostic::error(
                            "scores must be fixed-point",
                            target.format.map(|f| f.1).unwrap_or(span),
                        ));
                        return None;
                    }
                    (Op::BDense { out, bias, scores }, vec![out], f)
                }
            }
            "conv2d" | "bconv2d" => {
                let out = self.int_arg(slot("out"), "channel count", None, 1);
                let kernel = self.kernel_arg(slot("kernel"));
                let stride = self.int_arg(slot("stride"), "stride", Some(1), 1);
                let padding = self.int_arg(slot("padding"), "padding", Some(0), 0);
                let bias = self.bool_arg(slot("bias"), "bias flag", true);
                let scores = self.bool_arg(slot("scores"), "scores flag", false);
                let (out, kernel, stride, padding, bias, scores) =
                    (out?, kernel?, stride?, padding?, bias?, scores?);
                let (h, w) = self.image_input(name, &xt, xspan)?;
                let Some((oh, ow)) = window_out(h, w, kernel, stride, padding) else {
                    let kspan = slot("kernel").map(|e| e.span).unwrap_or(span);
                    self.err(
                        Diagnostic::error(
                            format!("kernel {}x{} does not fit the input", kernel.0, kernel.1),
                            kspan,
                        )
                        .with_span_label(format!(
                            "larger than the padded input {}x{}",
                            h + 2 * padding,
                            w + 2 * padding
                        ))
                        .with_label(
                            xspan,
                            format!("`{}` has shape {}", xt.name, shape_str(&xt.shape)),
                        ),
                    );
                    return None;
                };
                let shape = vec![out, oh, ow];
                if elements(&shape).is_none() {
                    self.err(
                        Diagnostic::error("tensor too large", span)
                            .with_span_label(format!("more than {MAX_ELEMENTS} elements")),
                    );
                    return None;
                }
                if name == "conv2d" {
                    let f = self.fixed_output("conv2d", &target, default, span)?;
                    (
                        Op::Conv2d {
                            out,
                            kernel,
                            stride,
                            padding,
                            bias,
                            weight_format: f,
                        },
                        shape,
                        f,
                    )
                } else {
                    let f = if scores {
                        target.format.map(|f| f.0).unwrap_or(default)
                    } else {
                        keep(self, Format::Binary)?
                    };
                    if scores && !f.is_fixed() {
                        self.err(Diagnostic::error(
                            "scores must be fixed-point",
                            target.format.map(|f| f.1).unwrap_or(span),
                        ));
                        return None;
                    }
                    (
                        Op::BConv2d {
                            out,
                            kernel,
                            stride,
                            padding,
                            bias,
                            scores,
                        },
                        shape,
                        f,
                    )
                }
            }
            "maxpool" | "avgpool" | "sumpool" => {
                let kernel = self.int_arg(slot("kernel"), "pooling window", None, 1);
                let stride = self.int_arg(slot("stride"), "stride", None, 1);
                let kernel = kernel?;
                let stride = stride.unwrap_or(kernel);
                if name != "maxpool" && !kernel.is_power_of_two() {
                    let kspan = slot("kernel").map(|e| e.span).unwrap_or(span);
                    self.err(
                        Diagnostic::error(format!("`{name}` window must be a power of two"), kspan)
                            .with_span_label(format!("{kernel} is not a power of two"))
                            .with_note("the average divides by the window area with a shift; use 1, 2, 4, 8, ..."),
                    );
                    return None;
                }
                let (h, w) = self.image_input(name, &xt, xspan)?;
                let Some((oh, ow)) = window_out(h, w, (kernel, kernel), stride, 0) else {
                    let kspan = slot("kernel").map(|e| e.span).unwrap_or(span);
                    self.err(
                        Diagnostic::error(
                            format!("pooling window {kernel}x{kernel} does not fit the input"),
                            kspan,
                        )
                        .with_span_label(format!("larger than {h}x{w}"))
                        .with_label(
                            xspan,
                            format!("`{}` has shape {}", xt.name, shape_str(&xt.shape)),
                        ),
                    );
                    return None;
                };
                let f = keep(self, xt.format)?;
                let op = match name {
                    "maxpool" => Op::MaxPool { kernel, stride },
                    "avgpool" => Op::AvgPool { kernel, stride },
                    _ => Op::SumPool { kernel, stride },
                };
                (op, vec![xt.shape[0], oh, ow], f)
            }
            "relu" => (Op::Relu, xt.shape.clone(), keep(self, xt.format)?),
            "sigmoid" | "tanh" => {
                let segments = self.int_arg(
                    slot("segments"),
                    "segment count",
                    Some(DEFAULT_SEGMENTS as i64),
                    1,
                )?;
                if segments > MAX_SEGMENTS {
                    self.err(
                        Diagnostic::error(
                            "too many segments",
                            slot("segments").map(|e| e.span).unwrap_or(span),
                        )
                        .with_span_label(format!("at most {MAX_SEGMENTS}")),
                    );
                    return None;
                }
                let function = if name == "sigmoid" {
                    Activation::Sigmoid
                } else {
                    Activation::Tanh
                };
                (
                    Op::PiecewiseLinear { function, segments },
                    xt.shape.clone(),
                    keep(self, xt.format)?,
                )
            }
            "batchnorm" => {
                let into = self.producer.get(&x).copied().filter(|l| {
                    matches!(
                        self.layers[*l].op,
                        Op::Dense { .. }
                            | Op::Conv2d { .. }
                            | Op::BDense { .. }
                            | Op::BConv2d { .. }
                    )
                });
                let Some(into) = into else {
                    self.err(
                        Diagnostic::error(
                            "`batchnorm` must directly follow a dense or convolution layer",
                            xspan,
                        )
                        .with_span_label(format!(
                            "`{}` is not the output of dense, conv2d, bdense or bconv2d",
                            xt.name
                        ))
                        .with_note("batch norm is folded into the preceding layer's weights"),
                    );
                    return None;
                };
                if matches!(
                    self.layers[into].op,
                    Op::BDense { scores: true, .. } | Op::BConv2d { scores: true, .. }
                ) {
                    self.err(
                        Diagnostic::error(
                            "`batchnorm` cannot follow a binary layer with scores",
                            xspan,
                        )
                        .with_span_label(format!("`{}` outputs scores", xt.name))
                        .with_note("fold the batch norm before exporting, or use bit outputs"),
                    );
                    return None;
                }
                if self
                    .layers
                    .iter()
                    .any(|l| matches!(l.op, Op::BatchNorm { into: i, .. } if i == into))
                {
                    self.err(
                        Diagnostic::error("second batch norm on the same layer", xspan)
                            .with_span_label(format!("`{}` already has a batch norm", xt.name)),
                    );
                    return None;
                }
                self.batchnorms.push((self.layers.len(), x));
                (
                    Op::BatchNorm {
                        into,
                        eps: BATCHNORM_EPS,
                    },
                    xt.shape.clone(),
                    keep(self, xt.format)?,
                )
            }
            "flatten" => {
                let n = elements(&xt.shape).unwrap_or(0);
                (Op::Flatten, vec![n], keep(self, xt.format)?)
            }
            "reshape" => {
                let e = slot("shape")?;
                let ExprKind::List(dims) = &e.kind else {
                    self.err(
                        Diagnostic::error("bad shape", e.span)
                            .with_span_label("expected a list like `[4, 4, 4]`"),
                    );
                    return None;
                };
                let mut dims = self.shape_list(dims, e.span, true)?;
                let total = elements(&xt.shape).unwrap_or(0);
                let infer: Vec<usize> = (0..dims.len()).filter(|i| dims[*i] == 0).collect();
                let known: Option<usize> = dims
                    .iter()
                    .filter(|d| **d != 0)
                    .try_fold(1usize, |a, d| a.checked_mul(*d));
                let fits = match (infer.as_slice(), known) {
                    ([], Some(k)) => k == total,
                    ([i], Some(k)) if k > 0 && total.checked_rem(k) == Some(0) => {
                        dims[*i] = total / k;
                        true
                    }
                    _ => false,
                };
                if !fits {
                    self.err(
                        Diagnostic::error(
                            "reshape does not preserve the number of elements",
                            e.span,
                        )
                        .with_span_label("this shape does not match")
                        .with_label(
                            xspan,
                            format!(
                                "`{}` has shape {} ({} elements)",
                                xt.name,
                                shape_str(&xt.shape),
                                total
                            ),
                        )
                        .with_note("at most one dimension may be -1"),
                    );
                    return None;
                }
                (Op::Reshape, dims, keep(self, xt.format)?)
            }
            "add" => {
                let y = tensors[1];
                let yt = self.tensors[y].tensor.clone();
                let yspan = slot("b").map(|e| e.span).unwrap_or(span);
                if xt.shape != yt.shape {
                    self.err(
                        Diagnostic::error("shape mismatch in `add`", span)
                            .with_label(
                                xspan,
                                format!("`{}` has shape {}", xt.name, shape_str(&xt.shape)),
                            )
                            .with_label(
                                yspan,
                                format!("`{}` has shape {}", yt.name, shape_str(&yt.shape)),
                            ),
                    );
                    return None;
                }
                if xt.format != yt.format {
                    self.err(
                        Diagnostic::error("format mismatch in `add`", span)
                            .with_label(xspan, format!("`{}` is {}", xt.name, xt.format))
                            .with_label(yspan, format!("`{}` is {}", yt.name, yt.format))
                            .with_note("requantize one of them first"),
                    );
                    return None;
                }
                (Op::Add, xt.shape.clone(), keep(self, xt.format)?)
            }
            "sign" => (Op::Sign, xt.shape.clone(), keep(self, Format::Binary)?),
            "requantize" => {
                let e = slot("format")?;
                let ExprKind::Name(fname) = &e.kind else {
                    self.err(
                        Diagnostic::error("expected a format name", e.span)
                            .with_span_label("not a format"),
                    );
                    return None;
                };
                let f = self.lookup_format(&Ident {
                    name: fname.clone(),
                    span: e.span,
                })?;
                if !f.is_fixed() {
                    self.err(
                        Diagnostic::error("`requantize` needs a fixed-point format", e.span)
                            .with_span_label(format!("this is {f}"))
                            .with_note("use `sign(x)` to binarize"),
                    );
                    return None;
                }
                (Op::Requantize, xt.shape.clone(), keep(self, f)?)
            }
            "project" => {
                let out = self.int_arg(slot("out"), "output size", None, 1)?;
                let is_input = self.inputs.iter().any(|i| i.tensor == x);
                let from_client = self
                    .inputs
                    .iter()
                    .any(|i| i.tensor == x && i.owner == Party::Client);
                if !from_client {
                    let why = if is_input {
                        "this input comes from the server"
                    } else {
                        "this is not a network input"
                    };
                    self.err(
                        Diagnostic::error("`project` needs a client input", xspan)
                            .with_span_label(why)
                            .with_note("the client projects its raw input in plaintext before the circuit: write `input x : ... from client; p = project(x, K);`"),
                    );
                    return None;
                }
                let f = self.fixed_output("project", &target, default, span)?;
                self.projections.push(x);
                (Op::Project { out }, vec![out], f)
            }
            "argmax" => {
                let n = elements(&xt.shape).unwrap_or(1).max(1);
                let bits = (usize::BITS - (n - 1).leading_zeros()).max(1);
                (Op::Argmax, vec![1], keep(self, Format::Index { bits })?)
            }
            _ => return None,
        };
        let out = self.new_tensor(target.name.clone(), shape, format, target.span);
        self.layers.push(TypedLayer {
            name: target.name,
            op,
            inputs: tensors,
            output: out,
            pruned,
            span,
        });
        self.producer.insert(out, self.layers.len() - 1);
        Some(out)
    }

    fn image_input(&mut self, name: &str, xt: &Tensor, xspan: Span) -> Option<(usize, usize)> {
        if xt.shape.len() != 3 {
            self.err(
                Diagnostic::error(
                    format!("`{name}` needs a [channels, height, width] input"),
                    xspan,
                )
                .with_span_label(format!(
                    "`{}` has shape {}",
                    xt.name,
                    shape_str(&xt.shape)
                )),
            );
            return None;
        }
        Some((xt.shape[1], xt.shape[2]))
    }
}

fn stmt_span(s: &Stmt) -> Span {
    match s {
        Stmt::Format { span, .. }
        | Stmt::Input { span, .. }
        | Stmt::Params { span, .. }
        | Stmt::Public { span, .. }
        | Stmt::Let { span, .. }
        | Stmt::Output { span, .. }
        | Stmt::Return { span, .. } => *span,
        Stmt::Error(s) => *s,
    }
}

fn signature(func: &str, sig: &[(&str, bool)]) -> String {
    let args: Vec<String> = sig
        .iter()
        .map(|(n, r)| {
            if *r {
                n.to_string()
            } else {
                format!("{n}=...")
            }
        })
        .collect();
    format!("usage: {func}({})", args.join(", "))
}

/// Number of elements, if at most [`MAX_ELEMENTS`].
pub fn elements(shape: &[usize]) -> Option<usize> {
    shape
        .iter()
        .try_fold(1usize, |a, d| a.checked_mul(*d))
        .filter(|n| *n <= MAX_ELEMENTS)
}

/// Output height and width of a window operation, if the window fits.
pub fn window_out(
    h: usize,
    w: usize,
    k: (usize, usize),
    stride: usize,
    pad: usize,
) -> Option<(usize, usize)> {
    let ph = h.checked_add(pad.checked_mul(2)?)?;
    let pw = w.checked_add(pad.checked_mul(2)?)?;
    if k.0 > ph || k.1 > pw || stride == 0 {
        return None;
    }
    Some(((ph - k.0) / stride + 1, (pw - k.1) / stride + 1))
}

#[cfg(test)]
mod tests {
    use crate::compile_str;
    use crate::ir::{Activation, Format, Network, Op, OutputOwner, ParamsOwner, Party};

    fn net(body: &str) -> Network {
        let src = format!(
            "network n {{ format q = fixed(16, 8); format p = fixed(8, 4); format b = binary; params public; {body} }}"
        );
        match compile_str(&src) {
            Ok(n) => n,
            Err(e) => panic!("{e}"),
        }
    }

    fn errors(body: &str) -> String {
        let src = format!(
            "network n {{ format q = fixed(16, 8); format p = fixed(8, 4); format b = binary; params public; {body} }}"
        );
        compile_str(&src).expect_err("should fail")
    }

    fn shape(n: &Network, name: &str) -> Vec<usize> {
        n.tensors[n.tensor_by_name(name).expect(name)].shape.clone()
    }

    fn format(n: &Network, name: &str) -> Format {
        n.tensors[n.tensor_by_name(name).expect(name)].format
    }

    const Q: Format = Format::Fixed { bits: 16, frac: 8 };
    const P: Format = Format::Fixed { bits: 8, frac: 4 };

    #[test]
    fn shapes_through_every_layer() {
        let n = net("input x : [3, 17, 16] from client;
            c = conv2d(x, 8, kernel=[3, 5], stride=2, padding=1);
            m = maxpool(c, 3, stride=2);
            a = avgpool(c, 2);
            s = sumpool(c, 4, stride=1);
            r = relu(s);
            sg = sigmoid(r, segments=16);
            t = tanh(r);
            c2 = conv2d(x, 8, kernel=3);
            bn = batchnorm(c2);
            f = flatten(m);
            rs = reshape(a, [-1, 2]);
            d = dense(f, 7, bias=false);
            ad = add(d, d);
            sn = sign(ad);
            bd = bdense(sn, 5);
            bs = bdense(sn, 4, scores=true);
            im = sign(c);
            bc = bconv2d(im, 2, kernel=3, padding=1);
            rq = requantize(bs, p);
            am = argmax(rq);
            output o = am;");
        assert_eq!(shape(&n, "c"), vec![8, 9, 7]); // (17+2-3)/2+1 = 9, (16+2-5)/2+1 = 7
        assert_eq!(shape(&n, "m"), vec![8, 4, 3]);
        assert_eq!(shape(&n, "a"), vec![8, 4, 3]);
        assert_eq!(shape(&n, "s"), vec![8, 6, 4]);
        assert_eq!(shape(&n, "sg"), vec![8, 6, 4]);
        assert_eq!(shape(&n, "bn"), vec![8, 15, 14]);
        assert_eq!(shape(&n, "f"), vec![96]);
        assert_eq!(shape(&n, "rs"), vec![48, 2]);
        assert_eq!(shape(&n, "d"), vec![7]);
        assert_eq!(shape(&n, "bd"), vec![5]);
        assert_eq!(shape(&n, "bc"), vec![2, 9, 7]);
        assert_eq!(shape(&n, "am"), vec![1]);
        assert_eq!(format(&n, "sn"), Format::Binary);
        assert_eq!(format(&n, "bd"), Format::Binary);
        assert_eq!(format(&n, "bs"), Q);
        assert_eq!(format(&n, "rq"), P);
        assert_eq!(format(&n, "am"), Format::Index { bits: 2 });
        let l = &n.layers[n.layer_by_name("sg").expect("sg")];
        assert_eq!(
            l.op,
            Op::PiecewiseLinear {
                function: Activation::Sigmoid,
                segments: 16
            }
        );
        let l = &n.layers[n.layer_by_name("t").expect("t")];
        assert_eq!(
            l.op,
            Op::PiecewiseLinear {
                function: Activation::Tanh,
                segments: super::DEFAULT_SEGMENTS
            }
        );
        let l = &n.layers[n.layer_by_name("bn").expect("bn")];
        let c2 = n.layer_by_name("c2").expect("c2");
        assert!(matches!(l.op, Op::BatchNorm { into, .. } if into == c2));
        assert!(matches!(
            n.layers[n.layer_by_name("d").expect("d")].op,
            Op::Dense {
                out: 7,
                bias: false,
                ..
            }
        ));
    }

    #[test]
    fn formats_and_owners() {
        let src = "network n { format a = binary; format q = fixed(12, 6); params from client;
            input x : [4] from server; input y : a[4] from client;
            h : q = requantize(x, q); d = dense(x, 3);
            output h to server; output s = d to both; output y; }";
        let n = compile_str(src).expect("ok");
        assert_eq!(n.default_format, Format::Fixed { bits: 12, frac: 6 });
        assert_eq!(n.params_owner, ParamsOwner::Party(Party::Client));
        assert_eq!(n.inputs[0].owner, Party::Server);
        assert_eq!(format(&n, "y"), Format::Binary);
        assert_eq!(format(&n, "d"), Format::Fixed { bits: 12, frac: 6 });
        let owners: Vec<_> = n
            .outputs
            .iter()
            .map(|o| (o.name.as_str(), o.owner))
            .collect();
        assert_eq!(
            owners,
            vec![
                ("h", OutputOwner::Server),
                ("s", OutputOwner::Both),
                ("y", OutputOwner::Client)
            ]
        );
        // `output s = d` names the tensor d.
        assert_eq!(n.outputs[1].tensor, n.tensor_by_name("d").expect("d"));
        assert!(matches!(
            n.layers[1].op,
            Op::Dense {
                weight_format: Format::Fixed { bits: 12, frac: 6 },
                ..
            }
        ));
    }

    #[test]
    fn dense_output_format_annotation_sets_weight_format() {
        let n = net("input x : [4] from client; d : p = dense(x, 2); output d;");
        assert!(matches!(
            n.layers[0].op,
            Op::Dense {
                weight_format: P,
                ..
            }
        ));
        assert_eq!(format(&n, "d"), P);
    }

    #[test]
    fn blocks_are_inlined_with_prefixed_names() {
        let src = "block res(a) { c = conv2d(a, 2, kernel=3, padding=1); r = relu(c); return add(a, r); }
            block two(a) { first = res(a); second = res(first); return second; }
            network n { format q = fixed(16, 8); params from server; input x : [2, 4, 4] from client;
            t = two(x); output t; }";
        let n = compile_str(src).expect("ok");
        let names: Vec<&str> = n.layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "t.first.c",
                "t.first.r",
                "t.first",
                "t.second.c",
                "t.second.r",
                "t.second"
            ]
        );
        let p: Vec<&str> = n.params().map(|p| p.name.as_str()).collect();
        assert_eq!(
            p,
            vec![
                "t.first.c.weight",
                "t.first.c.bias",
                "t.second.c.weight",
                "t.second.c.bias"
            ]
        );
        assert_eq!(n.outputs[0].tensor, n.layers[5].output);
    }

    #[test]
    fn nested_parameter_free_calls_are_allowed() {
        let n = net("input x : [1, 4, 4] from client; y = relu(maxpool(x, 2)); output y;");
        assert_eq!(n.layers.len(), 2);
        assert_eq!(
            n.layers[0].op,
            Op::MaxPool {
                kernel: 2,
                stride: 2
            }
        );
        assert_eq!(shape(&n, "y"), vec![1, 2, 2]);
    }

    #[test]
    fn aliases_share_the_tensor() {
        let n = net("input x : [4] from client; y = x; output y;");
        assert_eq!(n.outputs[0].tensor, n.inputs[0].tensor);
    }

    #[test]
    fn all_errors_of_the_pass_are_reported() {
        let e = errors(
            "input x : [4] from client; a = relu(nope); b = dense(x, 0); c = maxpool(x, 2); output a;",
        );
        assert!(e.contains("undefined name `nope`"), "{e}");
        assert!(e.contains("bad output size"), "{e}");
        assert!(
            e.contains("`maxpool` needs a [channels, height, width] input"),
            "{e}"
        );
        assert_eq!(e.matches("Error:").count(), 3, "{e}");
    }

    #[test]
    fn specific_errors() {
        for (body, msg) in [
            (
                "input x : [4] from client; y = sigmoid(x, segments=5000); output y;",
                "too many segments",
            ),
            (
                "input x : [4] from client; y = requantize(x, nope); output y;",
                "unknown format `nope`",
            ),
            (
                "input x : b[4] from client; y = relu(x); output y;",
                "`relu` needs a fixed-point input",
            ),
            (
                "input x : [4] from client; y = argmax(x); z = relu(y); output z;",
                "`relu` needs a fixed-point input",
            ),
            (
                "input x : [4] from client; d = dense(x, 2); e = batchnorm(d); f = batchnorm(d); output f;",
                "second batch norm",
            ),
            (
                "input x : b[4] from client; d = bdense(x, 2, scores=true); e = batchnorm(d); output e;",
                "cannot follow a binary layer with scores",
            ),
            (
                "input x : [4] from client; y = relu(x); output y; output y = x;",
                "duplicate output `y`",
            ),
            (
                "input x : [4] from client; y = x; y = x; output y;",
                "duplicate name `y`",
            ),
            (
                "input x : [4] from client; y : p = x; output y;",
                "`x` has format fixed(16, 8), not fixed(8, 4)",
            ),
            (
                "input x : [2, 2] from client; y = reshape(x, [-1, -1]); output y;",
                "reshape does not preserve",
            ),
            (
                "input x : [4] from client; y = relu(x, bias=true); output y;",
                "`relu` has no argument `bias`",
            ),
            (
                "input x : [4] from client; y = relu(x=x, x=x); output y;",
                "given twice",
            ),
            (
                "input x : [4] from client; y = dense(x, 3, bias=maybe); output y;",
                "bad bias flag",
            ),
            (
                "input x : [1, 4, 4] from client; y = conv2d(x, 3, kernel=[1, 2, 3]); output y;",
                "bad kernel size",
            ),
            (
                "input x : [4] from client; output y = x to nobody;",
                "unknown receiver",
            ),
            (
                "params from nowhere; input x : [4] from client; output x;",
                "unknown owner `nowhere`",
            ),
        ] {
            let e = errors(body);
            assert!(e.contains(msg), "{body}\n=> {e}");
        }
    }

    #[test]
    fn duplicate_and_layer_named_blocks() {
        let e = compile_str("block relu(x) { return x; } block a(x) { return x; } block a(y) { return y; } network n { }")
            .expect_err("fails");
        assert!(e.contains("block `relu` has the name of a layer"), "{e}");
        assert!(e.contains("duplicate block `a`"), "{e}");
    }

    #[test]
    fn block_errors() {
        for (src, msg) in [
            (
                "block a(x) { y = relu(x); } network n { format q = fixed(16, 8); input i : [2] from client; o = a(i); output o; }",
                "has no `return`",
            ),
            (
                "block a(x) { input z : [2] from client; return x; } network n { format q = fixed(16, 8); input i : [2] from client; o = a(i); output o; }",
                "not allowed in a block",
            ),
            (
                "block a(x) { return x; } network n { format q = fixed(16, 8); input i : [2] from client; o = relu(a(i)); output o; }",
                "must be called on its own line",
            ),
            (
                "block a(x) { return x; return x; } network n { format q = fixed(16, 8); input i : [2] from client; o = a(i); output o; }",
                "second `return`",
            ),
            (
                "block a(x, x) { return x; } network n { format q = fixed(16, 8); input i : [2] from client; o = a(i, i); output o; }",
                "duplicate name `x`",
            ),
            (
                "block a(x) { return b(x); } block b(x) { y = a(x); return y; } network n { format q = fixed(16, 8); input i : [2] from client; o = a(i); output o; }",
                "calls itself",
            ),
        ] {
            let e = compile_str(src).expect_err(src);
            assert!(e.contains(msg), "{src}\n=> {e}");
        }
    }

    #[test]
    fn edit_distance_suggestions() {
        assert_eq!(super::distance("relu", "rellu"), 1);
        assert_eq!(super::distance("", "abc"), 3);
        assert_eq!(
            super::suggest("dens", ["dense", "relu"].into_iter()),
            Some("did you mean `dense`?".to_string())
        );
        assert_eq!(super::suggest("zzzzzz", ["dense"].into_iter()), None);
    }

    #[test]
    fn window_geometry() {
        assert_eq!(super::window_out(28, 28, (5, 5), 2, 1), Some((13, 13)));
        assert_eq!(super::window_out(4, 4, (5, 5), 1, 0), None);
        assert_eq!(super::window_out(4, 4, (5, 5), 1, 1), Some((2, 2)));
        assert_eq!(super::elements(&[1 << 20, 1 << 20]), None);
    }
}
