//! Resource limits of the front end, so that a small or endless source file is a
//! clear error instead of gigabytes: `use "/dev/zero";` reads at most
//! [`Limits::max_source_bytes`], and block inlining, which doubles a network per
//! level when each block calls the previous one twice, stops at
//! [`Limits::max_layers`] with an error at the call that crossed it.

/// What the front end accepts. The defaults are far above any real network
/// (the largest example, MiniONN, has a few dozen layers); raise them for more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest source file (main or used), in bytes.
    pub max_source_bytes: u64,
    /// Most layers in the network after inlining every block call.
    pub max_layers: usize,
}

/// The default [`Limits::max_source_bytes`]: 16 MiB.
pub const MAX_SOURCE_BYTES: u64 = 16 << 20;
/// Longest `public "FILE";` file: 256 MiB.
pub const MAX_PUBLIC_BYTES: u64 = 256 << 20;
/// The default [`Limits::max_layers`].
pub const MAX_LAYERS: usize = 100_000;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_source_bytes: MAX_SOURCE_BYTES,
            max_layers: MAX_LAYERS,
        }
    }
}

/// Reads a binary file (the `public "FILE";` tensors) of at most `max_bytes` bytes.
pub fn read_bytes(path: &std::path::Path, max_bytes: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max_bytes {
        return Err(format!(
            "the file is longer than the limit of {max_bytes} bytes"
        ));
    }
    Ok(bytes)
}

/// Reads a source file of at most `max_bytes` bytes as UTF-8; the error says why
/// (naming the limit when the file is too long).
pub fn read_source(path: &std::path::Path, max_bytes: u64) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max_bytes {
        return Err(format!(
            "the file is longer than the limit of {max_bytes} bytes"
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "the file is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}
