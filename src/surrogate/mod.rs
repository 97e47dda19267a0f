//! The sigmoid surrogate of ALGORITHM.md sections 2-4: ReLU sites and
//! their activation variables, gates, pattern sync and the consistency loss.

pub mod activation;
pub mod consistency;
pub mod gate;
pub mod sites;

pub use sites::{relu_sites, total_neurons, ReluSite};
