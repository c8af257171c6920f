//! garnet stdlib
