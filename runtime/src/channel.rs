//! Byte channels between the two parties. Protocol cores talk to `dyn Channel`;
//! sockets live in the implementations.

use crate::block::Block;
use std::io;

/// A reliable, ordered, buffered byte stream with byte counters.
///
/// Writes are buffered until [`Channel::flush`]; a protocol step that waits for an
/// answer must flush first. Reads fail with `io::ErrorKind::TimedOut` (or
/// `UnexpectedEof` when the peer closed) rather than blocking forever.
pub trait Channel: Send {
    fn write_bytes(&mut self, bytes: &[u8]) -> io::Result<()>;
    fn read_bytes(&mut self, buf: &mut [u8]) -> io::Result<()>;
    fn flush(&mut self) -> io::Result<()>;
    fn bytes_sent(&self) -> u64;
    fn bytes_received(&self) -> u64;

    fn write_block(&mut self, b: Block) -> io::Result<()> {
        self.write_bytes(&b.to_bytes())
    }
    fn read_block(&mut self) -> io::Result<Block> {
        let mut buf = [0u8; 16];
        self.read_bytes(&mut buf)?;
        Ok(Block::from_bytes(buf))
    }
    fn write_blocks(&mut self, blocks: &[Block]) -> io::Result<()> {
        for b in blocks {
            self.write_block(*b)?;
        }
        Ok(())
    }
    fn read_blocks(&mut self, out: &mut [Block]) -> io::Result<()> {
        for b in out {
            *b = self.read_block()?;
        }
        Ok(())
    }
    fn write_u64(&mut self, v: u64) -> io::Result<()> {
        self.write_bytes(&v.to_le_bytes())
    }
    fn read_u64(&mut self) -> io::Result<u64> {
        let mut buf = [0u8; 8];
        self.read_bytes(&mut buf)?;
        Ok(u64::from_le_bytes(buf))
    }
}
