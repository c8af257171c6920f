//! One module per subcommand: clap `Args` and a `run` function.

pub mod convert;
pub mod eval;
pub mod load;
pub mod stats;
pub mod twoparty;
