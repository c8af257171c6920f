//! `models/README.md`'s per-layer gate counts come from the code: each model's
//! table is regenerated with the gate counter (private weights, no circuit built)
//! and must equal the committed one. `UPDATE_MODELS_README=1` rewrites them.
//!
//! The small models are checked on every run; the big ones (tens to hundreds of
//! millions of ANDs, about half a minute to minutes each) by the ignored test:
//! `cargo test --release -p garnet-compiler --test models_readme -- --ignored`.

use garnet_compiler::{Sources, count, frontend_file, render};
use std::path::PathBuf;

/// (directory, file stem) of every example network, in README order.
const SMALL: &[(&str, &str)] = &[
    ("digits", "digits"),
    ("breast_cancer", "breast_cancer"),
    ("digits_binarized", "digits_binarized"),
    ("binarized", "binarized"),
];
const BIG: &[(&str, &str)] = &[
    ("deepsecure_b1", "deepsecure_b1"),
    ("deepsecure_b1", "deepsecure_b1_8bit"),
    ("secureml", "secureml"),
    ("minionn", "minionn"),
];

fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn group(n: u64) -> String {
    garnet_circuits::stats::group(n)
}

/// The Markdown block of one model, between its markers.
fn block(dir: &str, stem: &str) -> String {
    let path = models_dir().join(dir).join(format!("{stem}.gnet"));
    let mut s = Sources::new();
    let net = frontend_file(&path, &mut s).unwrap_or_else(|d| panic!("{}", render(&d, &s)));
    let (total, sections) = count(&net, None).expect("lowers");
    let mut out = format!(
        "### `{dir}/{stem}.gnet` — {} AND\n\n| layer | op | output | AND | XOR | NOT |\n|---|---|---|---:|---:|---:|\n",
        group(total.and)
    );
    for (l, (name, c)) in net.layers.iter().zip(&sections) {
        assert_eq!(&l.name, name);
        let t = &net.tensors[l.output];
        out += &format!(
            "| `{}` | {} | {} {:?} | {} | {} | {} |\n",
            l.name,
            l.op.kind_name(),
            t.format,
            t.shape,
            group(c.and),
            group(c.xor),
            group(c.not)
        );
    }
    out += &format!(
        "| **total** | | | **{}** | {} | {} |\n",
        group(total.and),
        group(total.xor),
        group(total.not)
    );
    out
}

fn markers(stem: &str) -> (String, String) {
    (
        format!("<!-- model:{stem}:start -->\n"),
        format!("<!-- model:{stem}:end -->"),
    )
}

/// Checks (or with UPDATE_MODELS_README=1 rewrites) the blocks of `models`.
fn check(models: &[(&str, &str)]) {
    // Count first, then read-modify-write the file under a lock: the two tests
    // run in parallel and must not overwrite each other's update.
    let fresh: Vec<String> = models.iter().map(|(d, s)| block(d, s)).collect();
    static FILE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = FILE.lock().unwrap_or_else(|e| e.into_inner());
    let path = models_dir().join("README.md");
    let mut text = std::fs::read_to_string(&path).expect("models/README.md exists");
    let update = std::env::var_os("UPDATE_MODELS_README").is_some();
    let mut stale = Vec::new();
    for ((_, stem), fresh) in models.iter().zip(fresh) {
        let (start, end) = markers(stem);
        let (Some(a), Some(b)) = (text.find(&start), text.find(&end)) else {
            panic!("models/README.md lacks the markers {start:?} … {end:?}");
        };
        let a = a + start.len();
        if text[a..b] != fresh {
            stale.push(*stem);
            text.replace_range(a..b, &fresh);
        }
    }
    if update {
        std::fs::write(&path, text).expect("writes models/README.md");
    } else {
        assert!(
            stale.is_empty(),
            "models/README.md is stale for {stale:?}; rerun with UPDATE_MODELS_README=1 and review the diff"
        );
    }
}

#[test]
fn small_models_match_the_readme() {
    check(SMALL);
}

#[test]
#[ignore = "counts about 500 M gates; run with --ignored"]
fn big_models_match_the_readme() {
    check(BIG);
}
