//! `garnet compile`, and `garnet stats` / `garnet eval` on `.gnet` networks, run
//! as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn garnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_garnet"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the garnet binary runs")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    assert!(!o.status.success(), "unexpectedly succeeded");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("garnet-net-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("JSON")
}

const DIGITS: &str = "models/digits/digits.gnet";
const WEIGHTS: &str = "models/digits/digits.safetensors";

#[test]
fn stats_of_a_network_counts_what_compile_builds() {
    let out = scratch("digits.gcirc");
    let bristol = scratch("digits.txt");
    ok(&garnet(&[
        "compile",
        DIGITS,
        "-o",
        s(&out),
        "--bristol",
        s(&bristol),
    ]));
    let built = json(&ok(&garnet(&["stats", s(&out), "--json"])));
    let counted = json(&ok(&garnet(&["stats", DIGITS, "--json"])));
    for key in ["and_gates", "xor_gates", "not_gates", "estimated_bytes"] {
        assert_eq!(built[key], counted[key], "{key}");
    }
    assert!(counted["and_gates"].as_u64().expect("count") <= 650_000);
    // depths and live wires need the built circuit
    assert!(built["wires"].as_u64().expect("wires") > 0);
    assert!(counted["wires"].is_null() && counted["and_depth"].is_null());
    let gates_of = |v: &serde_json::Value| -> Vec<(String, u64, u64, u64)> {
        v["sections"]
            .as_array()
            .expect("sections")
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().expect("name").to_string(),
                    s["and_gates"].as_u64().expect("and"),
                    s["xor_gates"].as_u64().expect("xor"),
                    s["not_gates"].as_u64().expect("not"),
                )
            })
            .collect()
    };
    assert_eq!(gates_of(&built), gates_of(&counted));
    assert_eq!(gates_of(&built).len(), 5);
    for key in [
        "inputs",
        "outputs",
        "garbler_input_bits",
        "evaluator_input_bits",
    ] {
        assert_eq!(built[key], counted[key], "{key}");
    }
    // the Bristol text is the same circuit
    let from_bristol = json(&ok(&garnet(&["stats", s(&bristol), "--json"])));
    assert_eq!(from_bristol["and_gates"], built["and_gates"]);
    // the same source compiles to the same bytes
    let again = scratch("digits2.gcirc");
    ok(&garnet(&["compile", DIGITS, "-o", s(&again), "--stats"]));
    assert_eq!(
        std::fs::read(&out).expect("first"),
        std::fs::read(&again).expect("second")
    );
}

#[test]
fn eval_matches_the_reference_and_the_numpy_simulation() {
    let predictions = garnet_compiler::inputs::parse_npy(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("models/digits/test_fixed_predictions.npy"),
        )
        .expect("predictions"),
    )
    .expect("npy");
    for (k, file) in [
        (0, "sample_0.json"),
        (0, "sample_0.npy"),
        (1, "sample_1.csv"),
        (2, "sample_2.json"),
    ] {
        let input = format!("image=models/digits/inputs/{file}");
        let args = [
            "eval",
            DIGITS,
            "--weights",
            WEIGHTS,
            "--input",
            &input,
            "--json",
        ];
        let circuit = json(&ok(&garnet(&args)));
        let mut with_ref = args.to_vec();
        with_ref.push("--reference");
        let reference = json(&ok(&garnet(&with_ref)));
        assert_eq!(circuit, reference, "{file}");
        assert_eq!(
            circuit["outputs"]["label"].as_i64(),
            Some(predictions[k] as i64),
            "{file}"
        );
        let text = ok(&garnet(&args[..6]));
        assert_eq!(text.trim(), format!("label = {}", predictions[k]));
    }
}

#[test]
fn public_params_and_tensor_outputs() {
    // digits with public weights (constants) and the scores as an output
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(DIGITS))
        .expect("digits.gnet")
        .replace("params from server;", "params public;")
        .replace(
            "output label = argmax(fc2) to client;",
            "output label = argmax(fc2) to client; output fc2 to both;",
        );
    let net = scratch("digits_public.gnet");
    std::fs::write(&net, src).expect("write");
    let e = err(&garnet(&["compile", s(&net)]));
    assert!(
        e.contains("params public") && e.contains("--weights"),
        "{e}"
    );
    let e = err(&garnet(&["stats", s(&net)]));
    assert!(e.contains("--weights"), "{e}");
    let weights = Path::new(env!("CARGO_MANIFEST_DIR")).join(WEIGHTS);
    ok(&garnet(&[
        "compile",
        s(&net),
        "--weights",
        s(&weights),
        "-o",
        s(&scratch("p.gcirc")),
    ]));
    let input = format!(
        "image={}",
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models/digits/inputs/sample_3.json")
            .display()
    );
    let args = [
        "eval",
        s(&net),
        "--weights",
        s(&weights),
        "--input",
        &input,
        "--json",
    ];
    let circuit = json(&ok(&garnet(&args)));
    let mut with_ref = args.to_vec();
    with_ref.push("--reference");
    assert_eq!(circuit, json(&ok(&garnet(&with_ref))));
    let scores = &circuit["outputs"]["fc2"];
    let raw = scores["raw"].as_array().expect("raw");
    let values = scores["values"].as_array().expect("values");
    assert_eq!(raw.len(), 10);
    for (r, v) in raw.iter().zip(values) {
        assert_eq!(r.as_f64().expect("raw") / 256.0, v.as_f64().expect("value"));
    }
    let text = ok(&garnet(&args[..6]));
    assert!(text.contains("fc2 fixed(16, 8) = ["), "{text}");
    assert!(text.contains("(raw ["), "{text}");
}

#[test]
fn bad_arguments_are_clear_errors() {
    let e = err(&garnet(&[
        "eval",
        DIGITS,
        "--input",
        "image=models/digits/inputs/sample_0.json",
    ]));
    assert!(e.contains("--weights"), "{e}");
    let e = err(&garnet(&["eval", DIGITS, "--weights", WEIGHTS]));
    assert!(e.contains("missing --input image="), "{e}");
    let e = err(&garnet(&[
        "eval",
        DIGITS,
        "--weights",
        WEIGHTS,
        "--input",
        "picture=x.json",
    ]));
    assert!(
        e.contains("no input `picture`") && e.contains("image"),
        "{e}"
    );
    let e = err(&garnet(&[
        "eval",
        DIGITS,
        "--weights",
        WEIGHTS,
        "--input",
        "image",
    ]));
    assert!(e.contains("NAME=FILE"), "{e}");
    let wrong = scratch("wrong.json");
    std::fs::write(&wrong, "[1, 2, 3]").expect("write");
    let input = format!("image={}", s(&wrong));
    let e = err(&garnet(&[
        "eval",
        DIGITS,
        "--weights",
        WEIGHTS,
        "--input",
        &input,
    ]));
    assert!(e.contains("64") && e.contains("3"), "{e}");
    let big = scratch("big.json");
    std::fs::write(&big, format!("[{}]", vec!["1000.0"; 64].join(", "))).expect("write");
    let input = format!("image={}", s(&big));
    let o = garnet(&["eval", DIGITS, "--weights", WEIGHTS, "--input", &input]);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("64 value(s) of input `image` saturated"));
    let e = err(&garnet(&[
        "eval",
        DIGITS,
        "--weights",
        "models/breast_cancer/breast_cancer.safetensors",
        "--input",
        &input,
    ]));
    assert!(e.contains("fc1.weight"), "{e}");
    let e = err(&garnet(&["compile", "models/nope/nope.gnet"]));
    assert!(e.contains("cannot read"), "{e}");
    let broken = scratch("broken.gnet");
    std::fs::write(
        &broken,
        "network n { input x : [4] from client; y = relu(z); output y; }",
    )
    .expect("write");
    let e = err(&garnet(&["compile", s(&broken)]));
    assert!(e.contains("undefined name `z`"), "{e}");
    let e = err(&garnet(&["stats", s(&broken)]));
    assert!(e.contains("undefined name `z`"), "{e}");
}

/// The labels of a JSON-lines output, in order.
fn labels(stdout: &str) -> Vec<i64> {
    stdout
        .lines()
        .map(|l| json(l)["outputs"]["label"].as_i64().expect("label"))
        .collect()
}

#[test]
fn files_of_many_samples_evaluate_privately_and_in_plaintext() {
    // the whole test set in one .npy: plaintext evaluation, 64 samples per pass,
    // gives the numpy fixed-point simulation's prediction for every image
    let all = ok(&garnet(&[
        "eval",
        DIGITS,
        "--weights",
        WEIGHTS,
        "-i",
        "image=models/digits/test_inputs.npy",
        "--json",
    ]));
    let npy = std::fs::read("models/digits/test_fixed_predictions.npy").expect("predictions");
    let want: Vec<i64> = garnet_compiler::inputs::parse_npy(&npy)
        .expect("npy")
        .iter()
        .map(|v| *v as i64)
        .collect();
    assert_eq!(labels(&all), want);
    // five of them as CSV rows: one two-party session with five inferences agrees
    let x = garnet_compiler::inputs::parse_npy(
        &std::fs::read("models/digits/test_inputs.npy").expect("inputs"),
    )
    .expect("npy");
    let csv: String = x
        .chunks(64)
        .take(5)
        .map(|row| {
            let v: Vec<String> = row.iter().map(|f| f.to_string()).collect();
            v.join(",") + "\n"
        })
        .collect();
    let five = scratch("five.csv");
    std::fs::write(&five, csv).expect("write");
    let image = format!("image={}", s(&five));
    let private = ok(&garnet(&[
        "run",
        DIGITS,
        "--weights",
        WEIGHTS,
        "-i",
        &image,
        "--json",
    ]));
    assert_eq!(labels(&private), want[..5]);
    // a file whose size is not a multiple of the input's is an error naming it
    std::fs::write(&five, "1,2,3\n").expect("write");
    let e = err(&garnet(&[
        "eval",
        DIGITS,
        "--weights",
        WEIGHTS,
        "-i",
        &image,
    ]));
    assert!(e.contains("five.csv") && e.contains("multiple"), "{e}");
}

#[test]
fn networks_too_big_to_expand_stream_from_compact_bytes() {
    // GARNET_EXPAND_LIMIT=0 keeps every compiled circuit as .gcirc bytes in memory:
    // the same predictions in plaintext and between the parties
    let run = |args: &[&str], limit: Option<&str>| -> String {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_garnet"));
        cmd.args(args);
        if let Some(l) = limit {
            cmd.env("GARNET_EXPAND_LIMIT", l);
        }
        ok(&cmd.output().expect("runs"))
    };
    let image = "image=models/digits/test_inputs.npy";
    let eval = ["eval", DIGITS, "--weights", WEIGHTS, "-i", image, "--json"];
    assert_eq!(run(&eval, Some("0")), run(&eval, None));
    let sample = "image=models/digits/inputs/sample_1.csv";
    let two = [
        "run",
        DIGITS,
        "--weights",
        WEIGHTS,
        "-i",
        sample,
        "-i",
        sample,
        "--json",
    ];
    let (streamed, expanded) = (run(&two, Some("0")), run(&two, None));
    assert_eq!(streamed, expanded);
    assert_eq!(labels(&streamed).len(), 2);
    let stats = ["compile", DIGITS, "-o", "/dev/null", "--stats"];
    assert_eq!(run(&stats, Some("0")), run(&stats, None));
}
