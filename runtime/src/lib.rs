//! garnet runtime: blocks, hashing, half-gates and three-halves garbling, oblivious transfer,
//! channels and the two-party session (semi-honest security).

pub mod aes;
pub mod block;
pub mod channel;
pub mod error;
pub mod garble;
pub mod halfgates;
pub mod hash;
pub mod memory;
pub mod ot;
pub mod prg;
pub mod session;
pub mod synthetic;
pub mod tcp;
pub mod threehalves;

pub use block::Block;
pub use channel::Channel;
