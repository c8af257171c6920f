//! The bundled private digit-recognition demo as a library: the trained digits
//! network and its held-out test images built into the binary, a server and a
//! client on loopback TCP, and the plaintext fixed-point model to check against.
//! `garnet demo` prints what [`Digits::run`] reports.

use crate::embed::NetworkSource;
use crate::model::Model;
use crate::serve::{self, ServeConfig};
use crate::session::sessions_each;
use anyhow::{Context, Result, anyhow, bail};
use garnet_circuits::Party;
use garnet_compiler::inputs::quantize_input;
use garnet_compiler::ir::Network;
use garnet_compiler::weights::{Weights, load_safetensors};
use garnet_compiler::{Sources, frontend, reference, render};
use garnet_runtime::session::SessionReport;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const NETWORK: &str = include_str!("../../models/digits/digits.gnet");
const WEIGHTS: &[u8] = include_bytes!("../../models/digits/digits.safetensors");
const TEST_SET: &str = include_str!("../../models/digits/test.json");
const TIMEOUT: Duration = Duration::from_secs(30);

/// The digits model twice, as each party holds it (the server with the weights,
/// the client without), and the first test images with their true labels.
#[derive(Debug)]
pub struct Digits {
    pub server: Arc<Model>,
    pub client: Model,
    /// Quantized test images, in the network's input format.
    pub images: Vec<Vec<i64>>,
    pub labels: Vec<i64>,
    net: Network,
    weights: Weights,
}

/// One classified image, as the client learned it.
#[derive(Debug)]
pub struct Classified {
    pub index: usize,
    pub label: i64,
    pub report: SessionReport,
}

impl Digits {
    /// The bundled model and its first `count` test images (1..=360).
    pub fn bundled(count: usize) -> Result<Digits> {
        let mut sources = Sources::new();
        let net = frontend(NETWORK, &mut sources).map_err(|d| anyhow!(render(&d, &sources)))?;
        let source = NetworkSource::from_sources(&sources);
        let weights = load_safetensors(&net, WEIGHTS).context("bundled digits weights")?;
        let origin = Path::new("models/digits/digits.gnet");
        let server = Arc::new(Model::compile(
            origin,
            net.clone(),
            &source,
            Some(weights.clone()),
        )?);
        let client = Model::compile(origin, net.clone(), &source, None)?;
        let set: serde_json::Value = serde_json::from_str(TEST_SET).context("bundled test set")?;
        let (Some(inputs), Some(labels)) = (set["inputs"].as_array(), set["labels"].as_array())
        else {
            bail!("the bundled test set has no `inputs` and `labels` arrays");
        };
        if count == 0 || count > inputs.len() {
            bail!(
                "--count must be between 1 and {} (the bundled test images)",
                inputs.len()
            );
        }
        let tensor = &net.tensors[net.inputs[0].tensor];
        let images = inputs
            .iter()
            .take(count)
            .enumerate()
            .map(|(i, sample)| {
                let floats: Vec<f64> = sample
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
                    .unwrap_or_default();
                Ok(quantize_input(&floats, tensor)
                    .with_context(|| format!("test image {i}"))?
                    .values)
            })
            .collect::<Result<Vec<_>>>()?;
        let labels = labels
            .iter()
            .take(count)
            .map(|l| l.as_i64().unwrap_or(-1))
            .collect();
        Ok(Digits {
            server,
            client,
            images,
            labels,
            net,
            weights,
        })
    }

    /// What the plaintext fixed-point model predicts for image `i`.
    pub fn plaintext_label(&self, i: usize) -> Result<i64> {
        let values = reference::run(&self.net, &self.weights, &[self.images[i].clone()])?;
        Ok(reference::outputs(&self.net, &values)["label"][0])
    }

    /// Serves the model on a loopback port and classifies every image from a
    /// client: in one session (handshake, the server's weight labels and base OTs
    /// once), or one session per image. `ready` gets the server's address; `row`
    /// each image as soon as the client knows its label.
    pub fn run(
        &self,
        session_per_image: bool,
        ready: impl FnOnce(std::net::SocketAddr),
        mut row: impl FnMut(Classified) -> Result<()>,
    ) -> Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen on loopback")?;
        let addr = listener.local_addr()?;
        ready(addr);
        let weights = Arc::new(self.server.party_inputs(&[], Party::Garbler)?);
        let images = self
            .images
            .iter()
            .map(|im| self.client_inputs(im))
            .collect::<Result<Vec<_>>>()?;
        let sessions = if session_per_image { images.len() } else { 1 };
        let cfg = ServeConfig {
            limit: Some(sessions as u64),
            timeout: TIMEOUT,
            ..Default::default()
        };
        let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
        std::thread::scope(|s| -> Result<()> {
            let failed = Arc::clone(&failures);
            let model = Arc::clone(&self.server);
            let server = s.spawn(move || {
                serve::serve(&listener, model, weights, &cfg, move |log, _| {
                    if let Err(e) = &log.outcome {
                        failed
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(e.clone());
                    }
                })
            });
            let mut client = || -> Result<()> {
                let batches: Vec<&[Vec<Vec<bool>>]> = if session_per_image {
                    images.chunks(1).collect()
                } else {
                    vec![&images[..]]
                };
                let mut index = 0;
                for batch in batches {
                    let mut ch = serve::connect(&addr.to_string(), TIMEOUT, TIMEOUT, |_| {})?;
                    let mut first_error = None;
                    sessions_each(
                        Party::Evaluator,
                        &mut ch,
                        &self.client,
                        batch,
                        None,
                        &mut |o| {
                            let r = self.client.decode(&o.outputs).and_then(|d| {
                                let label = self.client.label(&d, "label").ok_or_else(|| {
                                    anyhow!("the digits model has no `label` output")
                                })?;
                                row(Classified {
                                    index,
                                    label,
                                    report: o.report,
                                })
                            });
                            if let Err(e) = r {
                                first_error.get_or_insert(e);
                            }
                            index += 1;
                        },
                    )
                    .with_context(|| format!("client session (image {index})"))?;
                    if let Some(e) = first_error {
                        return Err(e);
                    }
                }
                Ok(())
            };
            let result = client();
            let served = server
                .join()
                .map_err(|_| anyhow!("the server thread panicked"))?;
            result?;
            served.context("server")?;
            Ok(())
        })?;
        if let Some(e) = failures.lock().unwrap_or_else(|p| p.into_inner()).first() {
            bail!("a server session failed: {e}");
        }
        Ok(())
    }

    /// The client's input bits for one image (nothing for the server's inputs).
    fn client_inputs(&self, image: &[i64]) -> Result<Vec<Vec<bool>>> {
        let b = self
            .client
            .network
            .as_ref()
            .ok_or_else(|| anyhow!("the demo model is a network"))?;
        self.client
            .network_bits(b, &[image.to_vec()], Party::Evaluator)
    }
}
