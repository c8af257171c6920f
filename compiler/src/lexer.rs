//! Lexer: turns `.gnet` source text into tokens with byte spans (logos).
//!
//! Lexing never fails as a whole: bad characters, unterminated comments and
//! strings and out-of-range integers become [`Diagnostic`]s, and the remaining
//! tokens are still returned so the parser can report its own errors too.

use crate::diagnostics::{Diagnostic, FileId, Span};
use logos::Logos;
use std::fmt;

/// Errors produced inside logos callbacks.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LexError {
    /// A character that starts no token.
    #[default]
    UnexpectedChar,
    /// An integer literal that does not fit in 63 bits.
    IntTooLarge,
}

/// A token of the network language.
#[derive(Logos, Debug, Clone, PartialEq, Eq)]
#[logos(error = LexError)]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(skip r"//[^\n]*")]
pub enum Tok<'a> {
    #[token("network")]
    Network,
    #[token("block")]
    Block,
    #[token("use")]
    Use,
    #[token("format")]
    Format,
    #[token("input")]
    Input,
    #[token("output")]
    Output,
    #[token("params")]
    Params,
    #[token("from")]
    From,
    #[token("to")]
    To,
    #[token("public")]
    Public,
    #[token("return")]
    Return,
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice())]
    Ident(&'a str),
    #[regex(r"[0-9]+", parse_int)]
    Int(i64),
    #[regex(r#""[^"\n]*""#, |lex| { let s = lex.slice(); &s[1..s.len() - 1] })]
    Str(&'a str),
    /// `"` without a closing quote on the same line (reported, never parsed).
    #[regex(r#""[^"\n]*"#, priority = 1)]
    UnterminatedStr,
    /// `/*` without a matching `*/` (reported, never parsed).
    #[token("/*", block_comment)]
    UnterminatedComment,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(";")]
    Semi,
    #[token(":")]
    Colon,
    #[token("=")]
    Eq,
    #[token("-")]
    Minus,
}

/// Skips a whole `/* ... */` comment (not nested); emits
/// `UnterminatedComment` when there is no closing `*/`.
fn block_comment<'a>(lex: &mut logos::Lexer<'a, Tok<'a>>) -> logos::Filter<()> {
    match lex.remainder().find("*/") {
        Some(i) => {
            lex.bump(i + 2);
            logos::Filter::Skip
        }
        None => {
            lex.bump(lex.remainder().len());
            logos::Filter::Emit(())
        }
    }
}

fn parse_int<'a>(lex: &mut logos::Lexer<'a, Tok<'a>>) -> Result<i64, LexError> {
    lex.slice()
        .parse::<i64>()
        .map_err(|_| LexError::IntTooLarge)
}

impl fmt::Display for Tok<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Tok::Network => "`network`",
            Tok::Block => "`block`",
            Tok::Use => "`use`",
            Tok::Format => "`format`",
            Tok::Input => "`input`",
            Tok::Output => "`output`",
            Tok::Params => "`params`",
            Tok::From => "`from`",
            Tok::To => "`to`",
            Tok::Public => "`public`",
            Tok::Return => "`return`",
            Tok::Ident(s) => return write!(f, "identifier `{s}`"),
            Tok::Int(n) => return write!(f, "integer `{n}`"),
            Tok::Str(s) => return write!(f, "string \"{s}\""),
            Tok::UnterminatedStr => "unterminated string",
            Tok::UnterminatedComment => "unterminated comment",
            Tok::LBrace => "`{`",
            Tok::RBrace => "`}`",
            Tok::LParen => "`(`",
            Tok::RParen => "`)`",
            Tok::LBracket => "`[`",
            Tok::RBracket => "`]`",
            Tok::Comma => "`,`",
            Tok::Semi => "`;`",
            Tok::Colon => "`:`",
            Tok::Eq => "`=`",
            Tok::Minus => "`-`",
        };
        f.write_str(s)
    }
}

/// A token with its byte range, in the triple form lalrpop expects.
pub type Spanned<'a> = (usize, Tok<'a>, usize);

/// Lexes `src`. Returns every good token and a diagnostic for every bad one.
/// An unterminated block comment swallows the rest of the file.
pub fn lex(src: &str, file: FileId) -> (Vec<Spanned<'_>>, Vec<Diagnostic>) {
    let mut toks = Vec::new();
    let mut diags = Vec::new();
    let mut lexer = Tok::lexer(src);
    while let Some(res) = lexer.next() {
        let r = lexer.span();
        let span = Span::new(file, r.start, r.end);
        match res {
            Ok(Tok::UnterminatedComment) => {
                diags.push(
                    Diagnostic::error(
                        "unterminated block comment",
                        Span::new(file, r.start, r.start + 2),
                    )
                    .with_span_label("this comment is never closed")
                    .with_note("close it with `*/`"),
                );
                break;
            }
            Ok(Tok::UnterminatedStr) => {
                diags.push(
                    Diagnostic::error("unterminated string literal", span)
                        .with_span_label("missing closing `\"` on this line"),
                );
            }
            Ok(t) => toks.push((r.start, t, r.end)),
            Err(LexError::IntTooLarge) => diags.push(
                Diagnostic::error("integer literal is too large", span)
                    .with_span_label("does not fit in 63 bits"),
            ),
            Err(LexError::UnexpectedChar) => {
                let text = &src[r.clone()];
                diags.push(
                    Diagnostic::error(
                        format!("unexpected character `{}`", text.escape_debug()),
                        span,
                    )
                    .with_span_label("not part of any token"),
                )
            }
        }
    }
    (toks, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok<'_>> {
        let (t, d) = lex(src, FileId(0));
        assert!(d.is_empty(), "{d:?}");
        t.into_iter().map(|(_, t, _)| t).collect()
    }

    #[test]
    fn keywords_idents_ints() {
        assert_eq!(
            kinds("network digits { format q = fixed(16, 8); }"),
            vec![
                Tok::Network,
                Tok::Ident("digits"),
                Tok::LBrace,
                Tok::Format,
                Tok::Ident("q"),
                Tok::Eq,
                Tok::Ident("fixed"),
                Tok::LParen,
                Tok::Int(16),
                Tok::Comma,
                Tok::Int(8),
                Tok::RParen,
                Tok::Semi,
                Tok::RBrace
            ]
        );
    }

    #[test]
    fn keyword_prefix_is_identifier() {
        assert_eq!(
            kinds("networks input_x"),
            vec![Tok::Ident("networks"), Tok::Ident("input_x")]
        );
    }

    #[test]
    fn comments_are_skipped() {
        assert_eq!(
            kinds("a // line\n /* block * with ** stars */ b /**/ c"),
            vec![Tok::Ident("a"), Tok::Ident("b"), Tok::Ident("c")]
        );
    }

    #[test]
    fn strings_and_spans() {
        let (t, d) = lex(r#"use "lib/x.gnet";"#, FileId(3));
        assert!(d.is_empty());
        assert_eq!(t[1], (4, Tok::Str("lib/x.gnet"), 16));
        assert_eq!(t[2], (16, Tok::Semi, 17));
    }

    #[test]
    fn unterminated_comment_is_reported() {
        let (t, d) = lex("a /* never closed\n b c", FileId(0));
        assert_eq!(t.len(), 1);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].message, "unterminated block comment");
        assert_eq!((d[0].span.start, d[0].span.end), (2, 4));
    }

    #[test]
    fn bad_chars_and_big_ints_are_reported_and_skipped() {
        let (t, d) = lex("a $ b 99999999999999999999 \"open", FileId(0));
        assert_eq!(t.len(), 2);
        assert_eq!(d.len(), 3);
        assert!(d[0].message.contains("unexpected character"));
        assert!(d[1].message.contains("too large"));
        assert!(d[2].message.contains("unterminated string"));
    }

    #[test]
    fn non_ascii_is_an_error_not_a_panic() {
        let (_, d) = lex("x = é;", FileId(0));
        assert_eq!(d.len(), 1);
    }
}
