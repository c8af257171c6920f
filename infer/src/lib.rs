//! garnet-infer: private network inference between the compiler and the runtime.
//!
//! The command line, the demo and the tests use this layer; it owns what they
//! would otherwise each repeat:
//! - [`Model`]: a circuit's [`Interface`](garnet_circuits::Interface), digest and
//!   replayable [`GateSource`] (in memory, `.gcirc` bytes, a `.gcirc` file,
//!   synthetic), and for a network its layer IR and bound weights. A `.gcirc`
//!   compiled from a `.gnet` carries the network's source ([`embed`]), so the
//!   compiled file is the whole artifact: weights bind by layer name, input files
//!   quantize by tensor shape and format, outputs decode to labels and tensors.
//! - [`inputs`]: each party's inputs, split by owner in one place.
//! - [`decode`]: outputs to class labels, tensors or bits.
//! - [`serve`]: a server that opens the model once and serves every session from
//!   it (one log line each, graceful stop), a client that connects with retry.
//! - [`outsource`]: DeepSecure's secure outsourcing: client, proxy and server.
//!
//! # Example: serve a compiled network, classify a batch
//!
//! ```
//! use garnet_infer::{Model, serve};
//! use std::sync::Arc;
//! # fn main() -> anyhow::Result<()> {
//! let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
//! let dir = std::env::temp_dir().join(format!("garnet-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! // Compile once: the .gcirc holds the circuit and the network's source.
//! let (net, source) = garnet_infer::model::load_network(&root.join("models/digits/digits.gnet"))?;
//! let gcirc = dir.join("digits.gcirc");
//! garnet_infer::model::compile_gcirc(&net, &source, None, std::fs::File::create(&gcirc)?)?;
//!
//! // The server: the compiled file and the weights, opened once.
//! let weights = root.join("models/digits/digits.safetensors");
//! let server = Model::open(&gcirc, Some(&weights))?;
//! let fixed = server.party_inputs(&[], garnet_circuits::Party::Garbler)?;
//! let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?.to_string();
//! let cfg = serve::ServeConfig { limit: Some(1), ..Default::default() };
//! let t = std::thread::spawn(move || {
//!     serve::serve(&listener, Arc::new(server), Arc::new(fixed), &cfg, |log, _| eprintln!("{log}"))
//! });
//!
//! // The client: the same file, no weights, a batch of images.
//! let client = Model::open(&gcirc, None)?;
//! let images = format!("image={}", root.join("models/digits/test_inputs.npy").display());
//! let mut batch = client.party_inputs_per_inference(&[images], garnet_circuits::Party::Evaluator)?;
//! batch.truncate(3);
//! let timeout = std::time::Duration::from_secs(30);
//! let mut ch = serve::connect(&addr, timeout, timeout, |_| {})?;
//! let outcomes = serve::query(&mut ch, &client, &batch, None)?;
//! drop(ch);
//! for o in &outcomes {
//!     let d = client.decode(&o.outputs)?;
//!     let label = client.label(&d, "label").expect("an argmax output");
//!     assert!((0..10).contains(&label));
//! }
//! assert_eq!(t.join().unwrap()?, 1);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

pub mod bench;
pub mod decode;
pub mod demo;
pub mod embed;
pub mod inputs;
pub mod model;
pub mod outsource;
pub mod serve;
pub mod session;
pub mod values;

pub use decode::Decoded;
pub use model::{Bound, GateSource, Model};
