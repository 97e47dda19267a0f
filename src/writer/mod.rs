//! The ONNX graph writer: builds ONNX graphs with tract's protobuf types
//! ([`GraphBuilder`], [`Sym`], [`OnnxGraph`]), with one typed method per
//! ONNX op the emitted graphs use (`vocab`). It knows nothing of networks,
//! surrogates or goals; everything that emits a graph (the lowering, the
//! objective, the surrogate's gates, the zoo, the CUDA probe) writes it here.

pub mod builder;
mod vocab;

pub use builder::{GraphBuilder, IoSpec, OnnxGraph, Precision, Sym};
