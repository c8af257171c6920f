//! `garnet demo`: private digit recognition between a server and a client over
//! loopback TCP, all images in one garbled-circuit session (or one session each),
//! checked against the plaintext fixed-point model.

use anyhow::{Context, Result, bail};
use garnet_circuits::{Circuit, Party};
use garnet_compiler::inputs::quantize_input;
use garnet_compiler::ir::Network;
use garnet_compiler::weights::{Weights, load_safetensors};
use garnet_compiler::{Sources, decode_outputs, frontend, reference, render, tensor_bits};
use garnet_runtime::error::Phase;
use garnet_runtime::session::{
    SessionOptions, SessionOutcome, SessionReport, run_evaluator, run_evaluator_each, run_garbler,
    serve_garbler,
};
use garnet_runtime::tcp::TcpChannel;
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// The bundled model and its held-out test images, built into the binary so the demo
/// runs from any directory.
const NETWORK: &str = include_str!("../../models/digits/digits.gnet");
const WEIGHTS: &[u8] = include_bytes!("../../models/digits/digits.safetensors");
const TEST_SET: &str = include_str!("../../models/digits/test.json");

const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(clap::Args, Debug)]
pub struct Args {
    /// How many of the 360 bundled test images to classify.
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    /// Run one session (connection, handshake, base OTs) per image instead of one
    /// session for all of them.
    #[arg(long)]
    pub session_per_image: bool,
    /// Print each session's per-phase report.
    #[arg(long)]
    pub verbose: bool,
}

/// The digits model, compiled, with its test images.
struct Demo {
    net: Network,
    weights: Weights,
    circuit: Circuit,
    digest: [u8; 32],
    images: Vec<Vec<i64>>,
    labels: Vec<i64>,
}

fn prepare(count: usize) -> Result<Demo> {
    let mut sources = Sources::new();
    let net = frontend(NETWORK, &mut sources).map_err(|d| anyhow::anyhow!(render(&d, &sources)))?;
    let weights = load_safetensors(&net, WEIGHTS).context("bundled digits weights")?;
    let circuit = garnet_compiler::compile(&net, Some(&weights))?;
    let digest = garnet_circuits::format::gcirc::digest(&circuit);
    let set: serde_json::Value = serde_json::from_str(TEST_SET).context("bundled test set")?;
    let (Some(inputs), Some(labels)) = (set["inputs"].as_array(), set["labels"].as_array()) else {
        bail!("the bundled test set has no `inputs` and `labels` arrays");
    };
    if count == 0 || count > inputs.len() {
        bail!(
            "--count must be between 1 and {} (the bundled test images)",
            inputs.len()
        );
    }
    let tensor = &net.tensors[net.inputs[0].tensor];
    let mut images = Vec::with_capacity(count);
    for (i, sample) in inputs.iter().take(count).enumerate() {
        let floats: Vec<f64> = sample
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
            .unwrap_or_default();
        let q = quantize_input(&floats, tensor).with_context(|| format!("test image {i}"))?;
        images.push(q.values);
    }
    let labels = labels
        .iter()
        .take(count)
        .map(|l| l.as_i64().unwrap_or(-1))
        .collect();
    Ok(Demo {
        net,
        weights,
        circuit,
        digest,
        images,
        labels,
    })
}

impl Demo {
    /// The evaluator's input bits: the image; nothing for the server's inputs.
    fn client_inputs(&self, image: &[i64]) -> Result<Vec<Vec<bool>>> {
        let t = &self.net.tensors[self.net.inputs[0].tensor];
        let image_bits = tensor_bits(&t.name, image, t.len(), t.format)?;
        Ok(self
            .circuit
            .inputs
            .iter()
            .map(|spec| {
                if spec.owner == Party::Evaluator {
                    image_bits.clone()
                } else {
                    Vec::new()
                }
            })
            .collect())
    }

    /// The garbler's input bits: the weights; nothing for the client's image.
    fn server_inputs(&self) -> Result<Vec<Vec<bool>>> {
        let blank: Vec<Vec<i64>> = self
            .net
            .inputs
            .iter()
            .map(|i| vec![0; self.net.tensors[i.tensor].len()])
            .collect();
        let all =
            garnet_compiler::circuit_inputs(&self.net, &self.circuit, Some(&self.weights), &blank)?;
        Ok(self
            .circuit
            .inputs
            .iter()
            .zip(all)
            .map(|(spec, bits)| {
                if spec.owner == Party::Garbler {
                    bits
                } else {
                    Vec::new()
                }
            })
            .collect())
    }

    /// The label a session's outputs decode to, and its report.
    fn label_of(&self, outcome: SessionOutcome) -> Result<(i64, SessionReport)> {
        let bits: Vec<Vec<bool>> = outcome
            .outputs
            .into_iter()
            .map(|o| o.unwrap_or_default())
            .collect();
        let decoded = decode_outputs(&self.net, &bits)?;
        Ok((decoded["label"][0], outcome.report))
    }

    fn plaintext_label(&self, image: &[i64]) -> Result<i64> {
        let values = reference::run(&self.net, &self.weights, &[image.to_vec()])?;
        let out = reference::outputs(&self.net, &values);
        Ok(out["label"][0])
    }
}

/// One client session of one image: connect, evaluate, decode the label.
fn classify(
    demo: &Demo,
    addr: std::net::SocketAddr,
    image: &[i64],
) -> Result<(i64, SessionReport)> {
    let mut ch = TcpChannel::connect(addr, TIMEOUT, TIMEOUT)?;
    let inputs = demo.client_inputs(image)?;
    let gates = demo.circuit.gates.iter().copied();
    let outcome = run_evaluator(
        &mut ch,
        &demo.circuit,
        demo.digest,
        gates,
        &inputs,
        SessionOptions::default(),
    )?;
    demo.label_of(outcome)
}

/// One client session for all images; `row` gets each image's label and report
/// as soon as it is known.
fn classify_all(
    demo: &Demo,
    addr: std::net::SocketAddr,
    mut row: impl FnMut(usize, i64, SessionReport),
) -> Result<()> {
    let mut ch = TcpChannel::connect(addr, TIMEOUT, TIMEOUT)?;
    let inputs = demo
        .images
        .iter()
        .map(|im| demo.client_inputs(im))
        .collect::<Result<Vec<_>>>()?;
    let mut first_error = None;
    let mut i = 0;
    run_evaluator_each(
        &mut ch,
        &demo.circuit,
        demo.digest,
        || demo.circuit.gates.iter().copied(),
        &inputs,
        SessionOptions::default(),
        |outcome| {
            match demo.label_of(outcome) {
                Ok((label, report)) => row(i, label, report),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
            i += 1;
        },
    )?;
    first_error.map_or(Ok(()), Err)
}

/// One classified image.
struct Row {
    truth: i64,
    secure: i64,
    plain: i64,
    seconds: f64,
    report: SessionReport,
}

fn ms(s: f64) -> String {
    format!("{:.1} ms", s * 1e3)
}

fn mib(b: u64) -> String {
    match b {
        0..1024 => format!("{b} B"),
        1024..1_048_576 => format!("{:.1} KiB", b as f64 / 1024.0),
        _ => format!("{:.1} MiB", b as f64 / 1_048_576.0),
    }
}

pub fn run(args: Args) -> Result<()> {
    println!("garnet demo: private handwritten-digit recognition with a garbled circuit\n");
    println!("  The server owns a trained classifier (8x8 image -> 16 hidden units -> 10 digits,");
    println!("  16-bit fixed point). The client owns the images. The two connect over TCP on this");
    println!("  machine and evaluate one freshly garbled circuit per image; the client gets the");
    println!("  predicted digit.\n");

    let t = Instant::now();
    let demo = prepare(args.count)?;
    let ands = demo.circuit.and_count();
    let free = demo.circuit.gates.len() as u64 - ands;
    println!(
        "  circuit: {} AND gates and {} free XOR/NOT gates; {} of garbled tables per image",
        garnet_circuits::stats::group(ands),
        garnet_circuits::stats::group(free),
        mib(ands * 32),
    );
    println!("  (compiled in {})", ms(t.elapsed().as_secs_f64()));

    let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen on loopback")?;
    let addr = listener.local_addr()?;
    println!("  server (garbler) listening on {addr}\n");
    let server_inputs = demo.server_inputs()?;
    let count = demo.images.len();

    let separate = args.session_per_image;
    if separate {
        println!("  one session per image: connection, handshake and base OTs each time\n");
    } else {
        println!("  one session for all images: connection, handshake and base OTs once");
        println!("  (--session-per-image to pay them for every image)\n");
    }
    let results = std::thread::scope(|s| -> Result<Vec<Row>> {
        let demo = &demo;
        let server_inputs = &server_inputs;
        let server = s.spawn(move || -> Result<()> {
            let sessions = if separate { count } else { 1 };
            for _ in 0..sessions {
                let (stream, _) = listener.accept().context("server: accept")?;
                let mut ch = TcpChannel::new(stream, TIMEOUT)?;
                if separate {
                    let gates = demo.circuit.gates.iter().copied();
                    run_garbler(
                        &mut ch,
                        &demo.circuit,
                        demo.digest,
                        gates,
                        server_inputs,
                        SessionOptions::default(),
                    )
                    .context("server session")?;
                } else {
                    serve_garbler(
                        &mut ch,
                        &demo.circuit,
                        demo.digest,
                        || demo.circuit.gates.iter().copied(),
                        server_inputs,
                        SessionOptions::default(),
                        |_| {},
                    )
                    .context("server session")?;
                }
            }
            Ok(())
        });
        println!(
            "  {:>5} {:>6} {:>7} {:>10} {:>6} {:>10} {:>10}",
            "image", "truth", "secure", "plaintext", "agree", "time", "traffic"
        );
        let mut rows = Vec::new();
        let mut last = Instant::now();
        let mut add_row = |i: usize, secure: i64, report: SessionReport| -> Result<()> {
            let secs = last.elapsed().as_secs_f64();
            let plain = demo.plaintext_label(&demo.images[i])?;
            let (sent, received) = report.total_bytes();
            println!(
                "  {i:>5} {:>6} {secure:>7} {plain:>10} {:>6} {:>10} {:>10}",
                demo.labels[i],
                if secure == plain { "yes" } else { "NO" },
                ms(secs),
                mib(sent + received)
            );
            if args.verbose {
                println!("{report}");
            }
            rows.push(Row {
                truth: demo.labels[i],
                secure,
                plain,
                seconds: secs,
                report,
            });
            last = Instant::now();
            Ok(())
        };
        if separate {
            for (i, image) in demo.images.iter().enumerate() {
                let (secure, report) = classify(demo, addr, image)
                    .with_context(|| format!("client session for image {i}"))?;
                add_row(i, secure, report)?;
            }
        } else {
            let mut row_error = None;
            classify_all(demo, addr, |i, secure, report| {
                if let Err(e) = add_row(i, secure, report) {
                    row_error.get_or_insert(e);
                }
            })
            .context("client session")?;
            if let Some(e) = row_error {
                return Err(e);
            }
        }
        server
            .join()
            .map_err(|_| anyhow::anyhow!("the server thread panicked"))??;
        Ok(rows)
    })?;

    let n = results.len() as f64;
    let agree = results.iter().filter(|r| r.secure == r.plain).count();
    let correct = results.iter().filter(|r| r.secure == r.truth).count();
    let avg_time = results.iter().map(|r| r.seconds).sum::<f64>() / n;
    let (sent, received) = results.iter().fold((0, 0), |(s, r), x| {
        let (a, b) = x.report.total_bytes();
        (s + a, r + b)
    });
    println!("\nSummary");
    println!(
        "  secure = plaintext model    {agree}/{} ({:.0}%)",
        results.len(),
        100.0 * agree as f64 / n
    );
    println!(
        "  correct digit               {correct}/{} ({:.1}%)",
        results.len(),
        100.0 * correct as f64 / n
    );
    println!(
        "  AND gates per image         {}",
        garnet_circuits::stats::group(ands)
    );
    println!(
        "  traffic per image           {} (client sent {}, received {})",
        mib((sent + received) / results.len() as u64),
        mib(sent / results.len() as u64),
        mib(received / results.len() as u64)
    );
    println!("  time per image              {}", ms(avg_time));
    let phases = [
        Phase::Handshake,
        Phase::GarblerInputs,
        Phase::BaseOt,
        Phase::OtExtension,
        Phase::Evaluation,
        Phase::Outputs,
    ];
    let avg: Vec<String> = phases
        .iter()
        .map(|&p| {
            let t: f64 = results
                .iter()
                .filter_map(|r| r.report.phase(p))
                .map(|x| x.seconds)
                .sum();
            format!("{} {}", p.name(), ms(t / n))
        })
        .collect();
    println!("  client phases (average)     {}", avg.join(", "));
    println!("\nWhat each party learned");
    println!("  client: the predicted digit of each of its images, and nothing about the weights:");
    println!("          it only saw random-looking wire labels and garbled tables.");
    println!("  server: nothing about the images or the predictions: the image bits reached the");
    println!("          circuit through oblivious transfer, which hides them from the server.");
    if agree != results.len() {
        bail!(
            "the secure result differed from the plaintext model on {} images",
            results.len() - agree
        );
    }
    Ok(())
}
