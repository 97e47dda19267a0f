//! `--max-memory`, shared by the commands that run graphs (`run`, `audit`,
//! `bench`, `falsify`).

use adr_onnx::memory::{parse_size, MemoryLimit};

#[derive(clap::Args, Debug, Clone)]
pub struct MemoryArgs {
    /// The most memory the command may use: bytes, or a number with K, M,
    /// G or T (8G, 512M). Default: 75% of the machine's memory (the smaller
    /// of MemTotal and the cgroup's limit). A command estimated to need
    /// more stops before it starts, naming the setting to lower.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_memory: Option<u64>,
}

impl MemoryArgs {
    pub fn limit(&self) -> MemoryLimit {
        MemoryLimit::new(self.max_memory)
    }
}
