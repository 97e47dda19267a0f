//! VNN-LIB properties (the verification community's format for output
//! bounds): parsing, reading the competition's (possibly gzipped) files,
//! exact checks of the values a result file holds, and falsification by
//! search for a counterexample.

pub mod exact;
pub mod falsify;
pub mod files;
pub mod parse;
pub mod sample;

pub use parse::{parse_vnnlib, Disjunct, InputBox, LinearConstraint, ParseError, Property};
