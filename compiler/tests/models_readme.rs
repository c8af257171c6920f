//! `models/README.md`'s per-layer gate counts come from the code: each model's
//! table is regenerated with the gate counter (private weights, no circuit built)
//! and must equal the committed one. `UPDATE_MODELS_README=1` rewrites them.
//!
//! The small models are checked on every run; the big ones (tens to hundreds of
//! millions of ANDs, about half a minute to minutes each) by the ignored test:
//! `cargo test --release -p garnet-compiler --test models_readme -- --ignored`.

use garnet_circuits::stats::Stats;
use garnet_compiler::ir::Network;
use garnet_compiler::{Sources, count, frontend_file, render};
use std::path::PathBuf;

/// (directory, file stem) of every example network, in README order.
const SMALL: &[(&str, &str)] = &[
    ("digits", "digits"),
    ("digits_pp", "digits_pp"),
    ("breast_cancer", "breast_cancer"),
    ("breast_cancer_pp", "breast_cancer_pp"),
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

fn load(dir: &str, stem: &str) -> Network {
    let path = models_dir().join(dir).join(format!("{stem}.gnet"));
    let mut s = Sources::new();
    frontend_file(&path, &mut s).unwrap_or_else(|d| panic!("{}", render(&d, &s)))
}

/// The Markdown block of one model, between its markers.
fn block(dir: &str, stem: &str) -> String {
    let net = load(dir, stem);
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

/// The models before and after DeepSecure's pre-processing (projection, pruning).
const PREPROCESSED: &[(&str, &str)] = &[
    ("digits", "digits_pp"),
    ("breast_cancer", "breast_cancer_pp"),
];

fn fixed_accuracy(dir: &str) -> f64 {
    let m = std::fs::read_to_string(models_dir().join(dir).join("metrics.json")).expect("metrics");
    let v: serde_json::Value = serde_json::from_str(&m).expect("metrics JSON");
    v["fixed_accuracy"].as_f64().expect("fixed_accuracy")
}

fn mib(b: u64) -> String {
    format!("{:.2} MiB", b as f64 / (1 << 20) as f64)
}

/// The before/after table: accuracy of the fixed-point model, AND gates and the
/// estimated traffic of one inference (`garnet stats`).
fn preprocessing_block() -> String {
    let mut out = String::from(
        "| model | accuracy | AND | estimated traffic / inference |\n|---|---:|---:|---:|\n",
    );
    for (before, after) in PREPROCESSED {
        let mut and = [0u64; 2];
        for (i, m) in [before, after].into_iter().enumerate() {
            let net = load(m, m);
            let (c, sections) = count(&net, None).expect("lowers");
            and[i] = c.and;
            let st = Stats::from_counts(
                &garnet_compiler::interface(&net),
                c,
                Stats::sections_from_counts(&sections),
            );
            out += &format!(
                "| `{m}` | {:.2}% | {} | {} |\n",
                100.0 * fixed_accuracy(m),
                group(c.and),
                mib(st.estimated_bytes)
            );
        }
        out += &format!(
            "| | {:+.2} points | **{:.1}× fewer** | |\n",
            100.0 * (fixed_accuracy(after) - fixed_accuracy(before)),
            and[0] as f64 / and[1] as f64
        );
    }
    out
}

/// Checks (or with UPDATE_MODELS_README=1 rewrites) the blocks of `models`.
fn check(models: &[(&str, &str)]) {
    check_blocks(
        models
            .iter()
            .map(|(d, s)| (s.to_string(), block(d, s)))
            .collect(),
    )
}

/// Checks (or rewrites) the blocks between `<!-- model:NAME:start/end -->`.
fn check_blocks(blocks: Vec<(String, String)>) {
    // Count first, then read-modify-write the file under a lock: the tests run in
    // parallel and must not overwrite each other's update.
    let (models, fresh): (Vec<String>, Vec<String>) = blocks.into_iter().unzip();
    let models: Vec<(&str, &str)> = models.iter().map(|s| ("", s.as_str())).collect();
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
fn preprocessing_table_matches_the_readme() {
    check_blocks(vec![("preprocessing".to_string(), preprocessing_block())]);
}

/// Measured (not checked: times vary): one inference of each model of
/// `PREPROCESSED` as a two-party session in memory, median of 5 runs, and the
/// bytes the garbler sent and received. Writes the table with
/// `UPDATE_MODELS_README=1 ... -- --ignored measured_preprocessing`.
#[test]
#[ignore = "measures time; run with --ignored and UPDATE_MODELS_README=1"]
fn measured_preprocessing() {
    use garnet_circuits::Party;
    let mut out =
        String::from("| model | time / inference | traffic / inference |\n|---|---:|---:|\n");
    for m in PREPROCESSED.iter().flat_map(|(a, b)| [a, b]) {
        let net = load(m, m);
        let bytes =
            std::fs::read(models_dir().join(m).join(format!("{m}.safetensors"))).expect("weights");
        let w = garnet_compiler::weights::load_safetensors(&net, &bytes).expect("binds");
        let circuit = garnet_compiler::compile(&net, None).expect("compiles");
        let raw = vec![0i64; net.given_input(0).len()];
        let x = net.prepare_input(0, raw).expect("projects");
        let all = garnet_compiler::circuit_inputs(&net, &circuit, Some(&w), &[x]).expect("bits");
        let mine = |p: Party| -> Vec<Vec<bool>> {
            circuit
                .inputs
                .iter()
                .zip(&all)
                .map(|(s, v)| if s.owner == p { v.clone() } else { Vec::new() })
                .collect()
        };
        let (g, e) = (mine(Party::Garbler), mine(Party::Evaluator));
        let mut times = Vec::new();
        let mut traffic = 0;
        for _ in 0..5 {
            let t = std::time::Instant::now();
            let (go, _) = garnet_runtime::session::run_in_memory(&circuit, &g, &e).expect("runs");
            times.push(t.elapsed().as_secs_f64());
            let (sent, received) = go.report.total_bytes();
            traffic = sent + received;
        }
        times.sort_by(f64::total_cmp);
        out += &format!(
            "| `{m}` | {:.1} ms | {} |\n",
            1e3 * times[times.len() / 2],
            mib(traffic)
        );
    }
    if std::env::var_os("UPDATE_MODELS_README").is_some() {
        check_blocks(vec![("measured".to_string(), out)]);
    } else {
        println!("{out}");
    }
}

#[test]
#[ignore = "counts about 500 M gates; run with --ignored"]
fn big_models_match_the_readme() {
    check(BIG);
}
