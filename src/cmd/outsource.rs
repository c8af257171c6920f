//! `garnet outsource server|proxy|client`: DeepSecure's secure outsourcing. The
//! client one-time-pads its inputs and outputs; the proxy (evaluator) and the
//! server (garbler) run the garbled circuit; only the client learns the result.
//! Secure while proxy and server do not collude (semi-honest).

use anyhow::{Context, Result, bail};
use garnet_circuits::Party;
use garnet_infer::Model;
use garnet_infer::outsource::{Outsourced, client, proxy_job, serve};
use garnet_runtime::Channel;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub role: Role,
}

/// Options every role shares.
#[derive(clap::Args, Debug)]
pub struct Common {
    /// The network (.gnet or its compiled .gcirc) or circuit; every role gives the same.
    pub file: PathBuf,
    /// Read timeout in seconds: a peer silent for longer ends the job with an error.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub timeout: f64,
}

#[derive(clap::Subcommand, Debug)]
pub enum Role {
    /// The garbler: holds the weights; receives x⊕r and the output masks from each
    /// client and runs the sessions with its proxy. Prints one line per job (sizes
    /// and times only).
    Server {
        #[command(flatten)]
        common: Common,
        /// The weights (.safetensors) of a network whose parameters the server owns.
        #[arg(long, value_name = "W.safetensors")]
        weights: Option<PathBuf>,
        /// Address to listen on (port 0 picks a free one; printed on standard error).
        #[arg(long, value_name = "ADDR")]
        listen: String,
        /// Exit after this many jobs (default: serve until killed).
        #[arg(long, value_name = "N")]
        jobs: Option<u64>,
    },
    /// The evaluator: receives the pads r from a client, runs one session per sample
    /// with the server and returns y⊕s to the client. Prints one line per job.
    Proxy {
        #[command(flatten)]
        common: Common,
        /// Address to listen on for clients (port 0 picks a free one).
        #[arg(long, value_name = "ADDR")]
        listen: String,
        /// The server's address.
        #[arg(long, value_name = "ADDR")]
        server: String,
        /// Exit after this many jobs (default: serve until killed).
        #[arg(long, value_name = "N")]
        jobs: Option<u64>,
    },
    /// The data owner: draws pads and masks from the OS RNG, sends x⊕r and s to the
    /// server and r to the proxy, unmasks y⊕s and prints the result like `garnet evaluate`.
    Client {
        #[command(flatten)]
        common: Common,
        /// Inputs, NAME=FILE (a JSON array, .npy or CSV; k samples make one job of k).
        #[arg(long = "input", short = 'i', value_name = "NAME=VALUE|FILE")]
        inputs: Vec<String>,
        #[arg(long, value_name = "ADDR")]
        proxy: String,
        #[arg(long, value_name = "ADDR")]
        server: String,
        /// How long to keep trying to connect, in seconds.
        #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
        connect_timeout: f64,
        /// Print the outputs as JSON, one object per sample.
        #[arg(long)]
        json: bool,
    },
}

fn seconds(s: f64, what: &str) -> Result<Duration> {
    if !(s.is_finite() && s > 0.0) {
        bail!("{what} must be a positive number of seconds, not {s}");
    }
    Ok(Duration::from_secs_f64(s))
}

fn connect(addr: &str, who: &str, connect: Duration, t: Duration) -> Result<Box<dyn Channel>> {
    let ch = garnet_infer::serve::connect(addr, connect, t, |e| {
        eprintln!("waiting for the {who} at {addr}: {e}")
    })
    .with_context(|| format!("cannot reach the {who}"))?;
    Ok(Box::new(ch))
}

fn bind(addr: &str, role: &str) -> Result<TcpListener> {
    let l = TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    eprintln!("{role}: listening on {}", l.local_addr()?);
    Ok(l)
}

pub fn run(args: Args) -> Result<()> {
    match args.role {
        Role::Server {
            common,
            weights,
            listen,
            jobs,
        } => {
            let t = seconds(common.timeout, "--timeout")?;
            let m = Model::open(&common.file, weights.as_deref())?;
            let own = m.party_inputs(&[], Party::Garbler)?;
            let o = Outsourced::new(m)?;
            let l = bind(&listen, "server")?;
            serve(&l, &o, &own, t, jobs, &mut |line| eprintln!("{line}"))?;
            Ok(())
        }
        Role::Proxy {
            common,
            listen,
            server,
            jobs,
        } => {
            let t = seconds(common.timeout, "--timeout")?;
            let o = Outsourced::new(Model::open(&common.file, None)?)?;
            let l = bind(&listen, "proxy")?;
            let mut done = 0;
            while jobs.is_none_or(|n| done < n) {
                let (s, _) = l.accept().context("the proxy stopped accepting")?;
                let mut cl = garnet_runtime::tcp::TcpChannel::new(s, t)?;
                let log = proxy_job(&o, &mut cl, &mut || connect(&server, "server", t, t));
                eprintln!("{log}");
                done += 1;
            }
            Ok(())
        }
        Role::Client {
            common,
            inputs,
            proxy,
            server,
            connect_timeout,
            json,
        } => {
            let t = seconds(common.timeout, "--timeout")?;
            let ct = seconds(connect_timeout, "--connect-timeout")?;
            let m = Model::open(&common.file, None)?;
            let samples = m.party_inputs_per_inference(&inputs, Party::Evaluator)?;
            let o = Outsourced::new(m)?;
            let outs = client(&o, &samples, &mut |who| {
                let addr = if who == "server" { &server } else { &proxy };
                connect(addr, who, ct, t)
            })?;
            crate::cmd::twoparty::print_inferences(&o.original, &outs, json)
        }
    }
}
