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

// ---------------------------------------------------------------------------------
// Issue 14: what reaches the terminal, and networks without parameters

#[test]
fn control_characters_from_sources_are_escaped_in_diagnostics() {
    let src = "use \"\x1b[2J\x1b]0;pwned\x07.gnet\";\nnetwork n { }\n";
    let mut sources = Sources::new();
    let d = frontend_with(
        Path::new("main\x1b[31m.gnet"),
        src,
        &MemLoader::new(),
        &mut sources,
    )
    .unwrap_err();
    let out = render(&d, &sources);
    assert!(
        !out.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters in {out:?}"
    );
    assert!(
        out.contains("cannot read used file `\\x1b[2J\\x1b]0;pwned\\x07.gnet`")
            && out.contains("main\\x1b[31m.gnet"),
        "{out}"
    );
    // Source lines shown under the caret are escaped too.
    let src = "network n { format q = fixed(16, 8); input x : [4] from client; y = relu(z); output y; } // \x1b[2J";
    let mut sources = Sources::new();
    let d = frontend_with(Path::new("m.gnet"), src, &MemLoader::new(), &mut sources).unwrap_err();
    let out = render(&d, &sources);
    assert!(
        !out.contains('\x1b') && out.contains("// \\x1b[2J"),
        "{out:?}"
    );
    assert!(out.contains("undefined name `z`"), "{out}");
}

#[test]
fn a_network_without_params_compiles_without_weights() {
    let net = garnet_compiler::compile_str(
        "network n { format q = fixed(8, 4); input x : [4] from client; y = relu(x); output y; }",
    )
    .unwrap();
    let c = garnet_compiler::compile(&net, None).expect("no weights are needed");
    assert!(!c.gates.is_empty());
    let (counts, _) = garnet_compiler::count(&net, None).expect("no weights are needed");
    assert_eq!(counts.and, c.and_count());
}
