//! The lexer, parser and checker never panic: random token sequences, random
//! bytes, random strings and mutated valid programs all give either a network
//! or diagnostics (which render without panicking).

use garnet_compiler::resolve::MemLoader;
use garnet_compiler::{FileId, Sources, frontend_with, parse::parse, render};
use proptest::prelude::*;
use std::path::Path;

/// Keywords, argument names and punctuation; the layer names come from the checker.
const VOCAB: &[&str] = &[
    "network",
    "block",
    "use",
    "format",
    "input",
    "output",
    "params",
    "from",
    "to",
    "public",
    "return",
    "client",
    "server",
    "both",
    "fixed",
    "binary",
    "kernel",
    "stride",
    "padding",
    "segments",
    "scores",
    "bias",
    "true",
    "false",
    "x",
    "y",
    "q",
    "n",
    "0",
    "1",
    "2",
    "3",
    "8",
    "16",
    "-1",
    "99999999999999999999",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ";",
    ":",
    "=",
    "-",
    "\"a.gnet\"",
    "\"",
    "/*",
    "*/",
    "//",
    "\n",
    "@",
    "é",
];

const VALID: &str = "block res(a) { c = conv2d(a, 1, kernel=3, padding=1); return add(a, c); }
network digits {
    format q = fixed(16, 8);
    format p = fixed(8, 4);
    input image : q[1, 8, 8] from client;
    params from server;
    r = res(image);
    m = maxpool(r, 2);
    s = sigmoid(m, segments=4);
    x = flatten(s);
    fc1 = dense(x, 16);
    b = batchnorm(fc1);
    h = relu(b);
    hp = requantize(h, p);
    fc2 : p = dense(hp, 10);
    output label = argmax(fc2) to client;
    output scores = fc2 to both;
}";

fn run_all(src: &str) {
    let _ = parse(src, FileId(0));
    let mut sources = Sources::new();
    let loader = MemLoader::new().with("a.gnet", "block b(x) { return relu(x); }");
    if let Err(d) = frontend_with(Path::new("main.gnet"), src, &loader, &mut sources) {
        assert!(!d.is_empty());
        let _ = render(&d, &sources);
    }
}

#[test]
fn the_valid_program_is_valid() {
    let mut sources = Sources::new();
    let r = frontend_with(
        Path::new("main.gnet"),
        VALID,
        &MemLoader::new(),
        &mut sources,
    );
    if let Err(d) = r {
        panic!("{}", render(&d, &sources));
    }
}

/// Every token the language knows: [`VOCAB`] plus the layer names.
fn vocab() -> Vec<&'static str> {
    VOCAB
        .iter()
        .chain(garnet_compiler::check::LAYERS)
        .copied()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_token_sequences(toks in proptest::collection::vec(proptest::sample::select(vocab()), 0..60)) {
        run_all(&toks.join(" "));
    }

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        run_all(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_strings(s in "\\PC{0,200}") {
        run_all(&s);
    }

    #[test]
    fn mutated_valid_programs(pos in 0usize..VALID.len(), len in 0usize..12, insert in proptest::sample::select(vocab())) {
        let mut start = pos.min(VALID.len());
        while !VALID.is_char_boundary(start) { start -= 1; }
        let mut end = (start + len).min(VALID.len());
        while !VALID.is_char_boundary(end) { end -= 1; }
        let src = format!("{}{}{}", &VALID[..start], insert, &VALID[end..]);
        run_all(&src);
    }
}
