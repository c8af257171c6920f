//! Loading a circuit named on the command line, whatever its format.

use anyhow::{Context, Result};
use garnet_circuits::Circuit;
use std::path::Path;

/// Reads a `.gcirc` or Bristol file (detected from the content) and validates it.
pub fn circuit(path: &Path) -> Result<Circuit> {
    garnet_circuits::format::read_file(path).context("cannot load circuit")
}
