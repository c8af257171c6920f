//! Abstract syntax tree of a `.gnet` file, every node with its source span.

use crate::diagnostics::Span;

/// A name with its span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The text.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

/// One parsed source file: `use` declarations, blocks and networks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceFile {
    /// `use "path";` declarations, in order.
    pub uses: Vec<Use>,
    /// Reusable blocks.
    pub blocks: Vec<BlockDef>,
    /// Networks (the main file has exactly one).
    pub networks: Vec<Network>,
}

/// `use "other.gnet";`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    /// The path as written (relative to the including file).
    pub path: String,
    /// Span of the declaration.
    pub span: Span,
}

/// `block NAME(a, b) { ...; return x; }`
#[derive(Debug, Clone, PartialEq)]
pub struct BlockDef {
    /// Block name.
    pub name: Ident,
    /// Tensor parameters.
    pub params: Vec<Ident>,
    /// Body (`Let` and `Return` statements are meaningful here).
    pub stmts: Vec<Stmt>,
    /// Whole definition.
    pub span: Span,
}

/// `network NAME { ... }`
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Network name.
    pub name: Ident,
    /// Body.
    pub stmts: Vec<Stmt>,
    /// Whole definition.
    pub span: Span,
}

/// A statement of a network or block body.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    /// `format NAME = fixed(b, f);` or `format NAME = binary;`
    Format {
        /// Format name.
        name: Ident,
        /// Its definition.
        value: Expr,
        /// Whole statement.
        span: Span,
    },
    /// `input NAME : [FMT] [d0, d1, ...] [from OWNER];`
    Input {
        /// Tensor name.
        name: Ident,
        /// Format name, if given.
        format: Option<Ident>,
        /// Dimensions.
        shape: Vec<Expr>,
        /// Span of the `[...]` shape.
        shape_span: Span,
        /// Owner, if given.
        owner: Option<Ident>,
        /// Whole statement.
        span: Span,
    },
    /// `params from OWNER;` / `params public;` (`owner` is `public` then).
    Params {
        /// Owner word.
        owner: Ident,
        /// Whole statement.
        span: Span,
    },
    /// `public "FILE";`: a safetensors file of tensors both parties know (pruning
    /// masks, projection matrices), path relative to this file.
    Public {
        /// The path as written.
        path: String,
        /// Whole statement.
        span: Span,
    },
    /// `NAME [: FMT] = EXPR;`
    Let {
        /// Defined tensor.
        name: Ident,
        /// Output format, if given.
        format: Option<Ident>,
        /// Definition.
        value: Expr,
        /// Whole statement.
        span: Span,
    },
    /// `output NAME [: FMT] [= EXPR] [to OWNER];`
    Output {
        /// Output name.
        name: Ident,
        /// Output format, if given.
        format: Option<Ident>,
        /// Definition (absent: the tensor `name` itself).
        value: Option<Expr>,
        /// Receiver, if given.
        to: Option<Ident>,
        /// Whole statement.
        span: Span,
    },
    /// `return EXPR;` (blocks only)
    Return {
        /// Returned tensor.
        value: Expr,
        /// Whole statement.
        span: Span,
    },
    /// A statement that failed to parse (already reported).
    Error(Span),
}

/// An expression: a name, an integer, a list or a call.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is.
    pub span: Span,
}

/// Expression kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A tensor, format or word.
    Name(String),
    /// An integer (may be negative).
    Int(i64),
    /// `[a, b, c]`
    List(Vec<Expr>),
    /// `f(args)`
    Call {
        /// Layer, block or format constructor.
        func: Ident,
        /// Arguments.
        args: Vec<Arg>,
    },
}

/// A call argument, positional or `name = value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// Name for `name = value` arguments.
    pub name: Option<Ident>,
    /// Value.
    pub value: Expr,
}

/// A top-level item (the parser's output before grouping into a [`SourceFile`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `use "path";`
    Use(Use),
    /// `block ...`
    Block(BlockDef),
    /// `network ...`
    Network(Network),
}
