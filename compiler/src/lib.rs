//! garnet compiler: the `.gnet` network language.
//!
//! Passes, each its own module: [`lexer`] → [`parse`] (AST in [`ast`]) →
//! [`check`] (names, shapes, formats, owners) → [`ir`] (layer IR) →
//! [`lower`] (stdlib gadgets on a circuit builder or gate counter) → optimize
//! ([`compile`], [`count`]). The
//! [`reference`](mod@reference) interpreter evaluates the layer IR on fixed-point integers;
//! [`weights`] and [`inputs`] load and quantize parameters and inputs.
#![forbid(unsafe_code)]

pub mod api;
pub mod ast;
pub mod check;
pub mod diagnostics;
pub mod inputs;
pub mod ir;
pub mod lexer;
pub mod limits;
pub mod lower;
pub mod parse;
pub mod public;
pub mod reference;
pub mod resolve;
pub mod weights;

pub use api::{
    CompileError, circuit_inputs, compile, compile_to_gcirc, count, decode_outputs, interface,
    lower_to_builder, party_inputs, tensor_bits,
};
pub use diagnostics::{Diagnostic, FileId, Sources, Span, render};

use std::path::Path;

/// Runs the front end on a file: lex → parse (with `use`d files) → check →
/// layer IR. `sources` receives every file read, for [`render`].
pub fn frontend_file(path: &Path, sources: &mut Sources) -> Result<ir::Network, Vec<Diagnostic>> {
    frontend_file_limited(path, sources, &limits::Limits::default())
}

/// [`frontend_file`] with the given [`limits::Limits`] (source sizes, inlined layers).
pub fn frontend_file_limited(
    path: &Path,
    sources: &mut Sources,
    limits: &limits::Limits,
) -> Result<ir::Network, Vec<Diagnostic>> {
    let text = match limits::read_source(path, limits.max_source_bytes) {
        Ok(t) => t,
        Err(e) => {
            let f = sources.add(path.display().to_string(), "");
            return Err(vec![Diagnostic::error(
                format!("cannot read `{}`: {e}", path.display()),
                Span::new(f, 0, 0),
            )]);
        }
    };
    let loader = resolve::LimitedFsLoader {
        max_bytes: limits.max_source_bytes,
    };
    frontend_limited(path, &text, &loader, sources, limits)
}

/// Runs the front end on source text named `name`; `use` paths resolve
/// relative to `name` through `loader`.
pub fn frontend_with(
    name: &Path,
    src: &str,
    loader: &dyn resolve::Loader,
    sources: &mut Sources,
) -> Result<ir::Network, Vec<Diagnostic>> {
    frontend_limited(name, src, loader, sources, &limits::Limits::default())
}

/// [`frontend_with`] with the given [`limits::Limits`] (the loader enforces the
/// source size of used files).
pub fn frontend_limited(
    name: &Path,
    src: &str,
    loader: &dyn resolve::Loader,
    sources: &mut Sources,
    limits: &limits::Limits,
) -> Result<ir::Network, Vec<Diagnostic>> {
    let program = resolve::load_program(name, src, loader, sources)?;
    let typed = check::check_limited(&program, limits)?;
    let public = public::bind(&program, &typed)?;
    Ok(ir::build(&typed, &public))
}

/// Runs the front end on source text (file uses resolve in the current directory).
pub fn frontend(src: &str, sources: &mut Sources) -> Result<ir::Network, Vec<Diagnostic>> {
    frontend_with(Path::new("<input>"), src, &resolve::FsLoader, sources)
}

/// Convenience: the front end on text, rendering errors to a plain string.
pub fn compile_str(src: &str) -> Result<ir::Network, String> {
    let mut s = Sources::new();
    frontend(src, &mut s).map_err(|d| render(&d, &s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontend_reports_unreadable_files() {
        let mut s = Sources::new();
        let d = frontend_file(Path::new("/nonexistent/x.gnet"), &mut s).unwrap_err();
        assert!(
            d[0].message
                .starts_with("cannot read `/nonexistent/x.gnet`")
        );
        assert!(render(&d, &s).contains("cannot read"));
    }

    #[test]
    fn frontend_runs_every_pass() {
        let loader = resolve::MemLoader::new()
            .with("nets/main.gnet", "")
            .with("nets/lib/act.gnet", "block act(x) { return relu(x); }");
        let src = r#"use "lib/act.gnet";
            network n { format q = fixed(16, 8); input x : [4] from client; y = act(x); output y; }"#;
        let mut s = Sources::new();
        let net = frontend_with(Path::new("nets/main.gnet"), src, &loader, &mut s).expect("ok");
        assert_eq!(net.layers.len(), 1);
        assert_eq!(net.layers[0].name, "y");
        assert_eq!(s.len(), 2);
        // errors from the parser and the checker come back as diagnostics
        assert!(compile_str("network {").is_err());
        assert!(
            compile_str("network n { y = relu(x); }")
                .unwrap_err()
                .contains("undefined name `x`")
        );
    }
}
