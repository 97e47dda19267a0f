//! adr-onnx: activation-descent regularized input optimisation (ADR-GD,
//! Yu & Gao, ICML 2024) for ONNX ReLU networks.
//!
//! Data flow: [`onnx`] imports a model into the [`ir`] layer graph; the
//! lowering turns it into ONNX graphs that a runtime executes.

// Index loops over several parallel arrays (axes of a window, sites of a
// row) read better than zipped iterators.
#![allow(clippy::needless_range_loop)]

pub mod audit;
pub mod bench;
pub mod contained;
pub mod dataset;
pub mod document;
pub mod error;
pub mod front;
pub mod goal;
pub mod input;
pub mod interrupt;
pub mod ir;
pub mod lower;
pub mod memory;
pub mod objective;
pub mod onnx;
pub mod optim;
pub mod original;
pub mod output;
pub mod report;
pub mod runtime;
pub mod summary;
pub mod surrogate;
pub mod vnnlib;
pub mod writer;
pub mod zoo;

pub use error::{Error, Result};
