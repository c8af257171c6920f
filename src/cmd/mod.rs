//! One module per subcommand: clap `Args` and a `run` function. The work is done by
//! `garnet_infer`; these modules parse arguments and print.

pub mod compile;
pub mod convert;
pub mod demo;
pub mod eval;
pub mod import;
pub mod outsource;
pub mod print;
pub mod stats;
pub mod twoparty;
