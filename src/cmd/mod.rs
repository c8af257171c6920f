//! One module per subcommand: clap `Args` and a `run` function.

pub mod compile;
pub mod convert;
pub mod demo;
pub mod eval;
pub mod load;
pub mod network;
pub mod stats;
pub mod twoparty;
