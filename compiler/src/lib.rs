//! garnet compiler
