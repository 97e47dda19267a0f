//! adr-onnx: activation-descent regularized input optimisation (ADR-GD,
//! Yu & Gao, ICML 2024) for ONNX ReLU networks.
//!
//! Data flow: [`onnx`] imports a model into the [`ir`] layer graph; the
//! lowering turns it into ONNX graphs that a runtime executes.

pub mod error;
pub mod ir;
pub mod lower;
pub mod objective;
pub mod onnx;
pub mod runtime;
pub mod summary;
pub mod surrogate;
pub mod zoo;

pub use error::{Error, Result};
