//! `garnet demo`: private digit recognition between a server and a client over
//! loopback TCP, all images in one garbled-circuit session (or one session each),
//! checked against the plaintext fixed-point model. The work is
//! [`garnet_infer::demo`]; this prints it.

use anyhow::{Result, bail};
use garnet_infer::demo::{Classified, Digits};
use garnet_runtime::error::Phase;
use garnet_runtime::session::SessionReport;
use std::time::Instant;

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
    let demo = Digits::bundled(args.count)?;
    let stats = demo.client.stats()?;
    let ands = stats.and_gates;
    let free = stats.xor_gates + stats.not_gates;
    println!(
        "  circuit: {} AND gates and {} free XOR/NOT gates; {} of garbled tables per image",
        garnet_circuits::stats::group(ands),
        garnet_circuits::stats::group(free),
        mib(stats.traffic.garbled_tables),
    );
    println!("  (compiled in {})", ms(t.elapsed().as_secs_f64()));

    let separate = args.session_per_image;
    let mut rows = Vec::new();
    let mut last = Instant::now();
    demo.run(
        separate,
        |addr| {
            println!("  server (garbler) listening on {addr}\n");
            if separate {
                println!("  one session per image: connection, handshake and base OTs each time\n");
            } else {
                println!("  one session for all images: connection, handshake and base OTs once");
                println!("  (--session-per-image to pay them for every image)\n");
            }
            println!(
                "  {:>5} {:>6} {:>7} {:>10} {:>6} {:>10} {:>10}",
                "image", "truth", "secure", "plaintext", "agree", "time", "traffic"
            );
        },
        |c: Classified| {
            let secs = last.elapsed().as_secs_f64();
            let i = c.index;
            let plain = demo.plaintext_label(i)?;
            let (sent, received) = c.report.total_bytes();
            println!(
                "  {i:>5} {:>6} {:>7} {plain:>10} {:>6} {:>10} {:>10}",
                demo.labels[i],
                c.label,
                if c.label == plain { "yes" } else { "NO" },
                ms(secs),
                mib(sent + received)
            );
            if args.verbose {
                println!("{}", c.report);
            }
            rows.push(Row {
                truth: demo.labels[i],
                secure: c.label,
                plain,
                seconds: secs,
                report: c.report,
            });
            last = Instant::now();
            Ok(())
        },
    )?;
    let results = rows;

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
