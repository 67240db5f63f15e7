//! The shipped config/ and zones/.
