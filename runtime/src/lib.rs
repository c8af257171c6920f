//! garnet runtime: blocks, hashing, half-gates garbling, oblivious transfer,
//! channels and the two-party session (semi-honest security).

pub mod block;
pub mod channel;

pub use block::Block;
pub use channel::Channel;
