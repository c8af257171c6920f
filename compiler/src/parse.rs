//! Parser: tokens to [`ast::SourceFile`] with the lalrpop grammar.
//!
//! Lexing errors and parse errors are collected together; the grammar
//! recovers at `;` inside network and block bodies, so several syntax errors
//! are reported in one run. Parsing never panics.

use crate::ast::{self, Item};
use crate::diagnostics::{Diagnostic, FileId, Span};
use crate::lexer::{self, Tok};
use lalrpop_util::{ErrorRecovery, ParseError};

lalrpop_util::lalrpop_mod!(
    #[allow(
        clippy::all,
        clippy::pedantic,
        unused,
        missing_debug_implementations,
        missing_docs
    )]
    grammar
);

/// Deepest allowed nesting of `(` and `[`.
pub const MAX_NESTING: usize = 64;

/// Parses one source file. All lexing and syntax errors are returned together.
pub fn parse(src: &str, file: FileId) -> Result<ast::SourceFile, Vec<Diagnostic>> {
    let (tokens, mut diags) = lexer::lex(src, file);
    // Bound the nesting of brackets so that later passes (which recurse over
    // expressions) cannot exhaust the stack on adversarial input.
    let mut depth = 0usize;
    for (l, t, r) in &tokens {
        match t {
            Tok::LParen | Tok::LBracket => depth += 1,
            Tok::RParen | Tok::RBracket => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > MAX_NESTING {
            diags.push(
                Diagnostic::error("expression nested too deeply", Span::new(file, *l, *r))
                    .with_span_label(format!("more than {MAX_NESTING} open brackets")),
            );
            return Err(diags);
        }
    }
    let mut recovered: Vec<ErrorRecovery<usize, Tok<'_>, ()>> = Vec::new();
    let result =
        grammar::FileParser::new().parse(file, &mut recovered, tokens.into_iter().map(Ok::<_, ()>));
    for r in recovered {
        diags.push(convert(r.error, file, src.len()));
    }
    match result {
        Ok(items) if diags.is_empty() => {
            let mut out = ast::SourceFile::default();
            for it in items {
                match it {
                    Item::Use(u) => out.uses.push(u),
                    Item::Block(b) => out.blocks.push(b),
                    Item::Network(n) => out.networks.push(n),
                }
            }
            Ok(out)
        }
        Ok(_) => Err(diags),
        Err(e) => {
            let d = convert(e, file, src.len());
            // An unterminated comment already explains a premature end of file.
            let eof_after_comment = matches!(d.message.as_str(), m if m.starts_with("unexpected end of file"))
                && diags
                    .iter()
                    .any(|x| x.message == "unterminated block comment");
            if !eof_after_comment {
                diags.push(d);
            }
            Err(diags)
        }
    }
}

fn describe_expected(expected: &[String]) -> String {
    let mut names: Vec<String> = expected
        .iter()
        .map(|e| match e.as_str() {
            "Ident" => "a name".to_string(),
            "Int" => "an integer".to_string(),
            "Str" => "a string".to_string(),
            other => format!("`{}`", other.trim_matches('"')),
        })
        .collect();
    names.sort();
    names.dedup();
    match names.len() {
        0 => String::new(),
        1 => format!("expected {}", names[0]),
        _ => {
            let last = names.pop().unwrap_or_default();
            format!("expected one of {} or {}", names.join(", "), last)
        }
    }
}

fn convert(e: ParseError<usize, Tok<'_>, ()>, file: FileId, len: usize) -> Diagnostic {
    match e {
        ParseError::UnrecognizedToken {
            token: (l, t, r),
            expected,
        } => {
            let exp = describe_expected(&expected);
            let mut d = Diagnostic::error(format!("unexpected {t}"), Span::new(file, l, r));
            d = d.with_span_label(if exp.is_empty() {
                "not expected here".to_string()
            } else {
                exp
            });
            d
        }
        ParseError::UnrecognizedEof { location, expected } => {
            let exp = describe_expected(&expected);
            let at = location.min(len);
            Diagnostic::error("unexpected end of file", Span::new(file, at, at)).with_span_label(
                if exp.is_empty() {
                    "the file ends here".to_string()
                } else {
                    exp
                },
            )
        }
        ParseError::ExtraToken { token: (l, t, r) } => {
            Diagnostic::error(format!("unexpected {t}"), Span::new(file, l, r))
                .with_span_label("extra token")
        }
        ParseError::InvalidToken { location } => {
            Diagnostic::error("invalid token", Span::new(file, location, location))
        }
        ParseError::User { .. } => Diagnostic::error("syntax error", Span::new(file, 0, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{ExprKind, Stmt};

    const DIGITS: &str = "network digits {
        format q = fixed(16, 8);
        input image : q[1, 8, 8] from client;
        params from server;
        x = flatten(image);
        fc1 = dense(x, 16);
        h = relu(fc1);
        fc2 = dense(h, 10);
        output label = argmax(fc2) to client;
    }";

    #[test]
    fn parses_the_issue_example() {
        let f = parse(DIGITS, FileId(0)).expect("parses");
        assert_eq!(f.networks.len(), 1);
        let n = &f.networks[0];
        assert_eq!(n.name.name, "digits");
        assert_eq!(n.stmts.len(), 8);
        match &n.stmts[1] {
            Stmt::Input {
                name,
                format,
                shape,
                owner,
                ..
            } => {
                assert_eq!(name.name, "image");
                assert_eq!(format.as_ref().map(|f| f.name.as_str()), Some("q"));
                assert_eq!(shape.len(), 3);
                assert_eq!(owner.as_ref().map(|o| o.name.as_str()), Some("client"));
            }
            s => panic!("{s:?}"),
        }
        match &n.stmts[4] {
            Stmt::Let { name, value, .. } => {
                assert_eq!(name.name, "fc1");
                match &value.kind {
                    ExprKind::Call { func, args } => {
                        assert_eq!(func.name, "dense");
                        assert_eq!(args.len(), 2);
                        assert_eq!(args[1].value.kind, ExprKind::Int(16));
                    }
                    k => panic!("{k:?}"),
                }
            }
            s => panic!("{s:?}"),
        }
        match &n.stmts[7] {
            Stmt::Output {
                name, to, value, ..
            } => {
                assert_eq!(name.name, "label");
                assert!(value.is_some());
                assert_eq!(to.as_ref().map(|t| t.name.as_str()), Some("client"));
            }
            s => panic!("{s:?}"),
        }
    }

    #[test]
    fn named_args_lists_negative_ints_blocks_and_uses() {
        let src = r#"use "lib.gnet";
            block res(a) { c = conv2d(a, 4, kernel=[3, 3], padding=1); return add(a, c); }
            network n { format q = binary; input x : [2, -1] from server; params public; output y : q = x to both; output x; }"#;
        let f = parse(src, FileId(2)).expect("parses");
        assert_eq!(f.uses.len(), 1);
        assert_eq!(f.uses[0].path, "lib.gnet");
        assert_eq!(f.blocks[0].params.len(), 1);
        assert_eq!(f.blocks[0].stmts.len(), 2);
        let n = &f.networks[0];
        match &n.stmts[1] {
            Stmt::Input { shape, format, .. } => {
                assert!(format.is_none());
                assert_eq!(shape[1].kind, ExprKind::Int(-1));
            }
            s => panic!("{s:?}"),
        }
        assert!(matches!(&n.stmts[2], Stmt::Params { owner, .. } if owner.name == "public"));
        assert!(matches!(
            &n.stmts[4],
            Stmt::Output {
                value: None,
                to: None,
                ..
            }
        ));
        assert_eq!(n.span.file, FileId(2));
    }

    #[test]
    fn several_errors_are_collected() {
        let src = "network n {\n  x = relu(h));\n  y = = 3;\n  z = relu(x);\n}";
        let d = parse(src, FileId(0)).unwrap_err();
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(d[0].message, "unexpected `)`");
        assert_eq!(d[1].message, "unexpected `=`");
    }

    #[test]
    fn lex_and_parse_errors_together() {
        let d = parse("network n { x = relu(#); }", FileId(0)).unwrap_err();
        assert!(d[0].message.contains("unexpected character"));
    }

    #[test]
    fn eof_is_reported() {
        let d = parse("network n { x = relu(y);", FileId(0)).unwrap_err();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].message, "unexpected end of file");
        assert_eq!(d[0].span.start, 24);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let src = format!(
            "network n {{ y = {}x{}; }}",
            "relu(".repeat(100_000),
            ")".repeat(100_000)
        );
        let d = parse(&src, FileId(0)).unwrap_err();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].message, "expression nested too deeply");
        let ok = format!(
            "network n {{ y = {}x{}; }}",
            "relu(".repeat(MAX_NESTING),
            ")".repeat(MAX_NESTING)
        );
        assert!(parse(&ok, FileId(0)).is_ok());
    }

    #[test]
    fn empty_file_parses_to_nothing() {
        let f = parse("// nothing\n", FileId(0)).expect("ok");
        assert!(f.networks.is_empty());
    }
}
