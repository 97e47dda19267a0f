//! The JSON Schema checker of tests/schemas.rs.
pub mod checker;
