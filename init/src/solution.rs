//! The checked solution: which processes Einit starts and which channels it connects.
//!
//! This is the owned, plain-data middle of the pipeline. The checker (`crate::check`,
//! with the `std` feature) builds it from `init.yaml` with every default filled in, and
//! [`Solution::to_table`] writes it as the binary table of [`crate::table`]. Nothing here
//! remembers source positions: by the time a `Solution` exists every diagnostic has been
//! given, and the table carries only what Einit needs.
//!
//! The fields are public so that tools and tests can build solutions by hand; the encoder
//! checks such a solution with the same rules as the decoder, so a hand-built solution that
//! the checker would refuse cannot become a table either.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::table::{self, Table, TableError};

/// A whole solution: the processes in the order of `init.yaml`, and the static channels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Solution {
    /// Processes; channels refer to them by index.
    pub processes: Vec<Process>,
    /// Static IPC channels.
    pub channels: Vec<Channel>,
}

/// One process Einit starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Process {
    /// The task name, unique in the solution (the class name unless `task:` is given).
    pub task: String,
    /// The EDL class (`name:` in `init.yaml`).
    pub class: String,
    /// The executable in the ROMFS (the class's last dotted part unless `path:` is given).
    pub path: String,
    /// Command-line arguments.
    pub args: Vec<String>,
    /// Environment variables, in the order written.
    pub env: Vec<(String, String)>,
    /// Whether this program uses the dynamic connection manager (a channel `kl.core.DCM`).
    pub dynamic_connection_manager: bool,
    /// Whether `path` is a static Linux program, started through the personality
    /// (`linux: true`).
    pub linux: bool,
    /// Its priority ceiling (`priority:`, an Ostrog extension); `None`: the default.
    pub priority: Option<u8>,
    /// Its memory limit in bytes (`memory:`, an Ostrog extension); `None`: the kernel's
    /// default.
    pub memory: Option<u64>,
}

/// One static channel from a client to a server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Channel {
    /// Index of the client process.
    pub client: usize,
    /// Index of the server process.
    pub server: usize,
    /// The channel's name.
    pub id: String,
}

impl Solution {
    /// The binary Einit table for this solution.
    ///
    /// Fails only for a solution the checker would have refused (a hand-built one), with
    /// the same error the decoder would give.
    pub fn to_table(&self) -> Result<Vec<u8>, TableError> {
        table::encode(self)
    }

    /// Reads a solution back from a table (for tools and tests).
    pub fn from_table(table: &Table<'_>) -> Solution {
        let processes = table
            .processes()
            .map(|p| Process {
                task: p.task().to_string(),
                class: p.class().to_string(),
                path: p.path().to_string(),
                args: p.args().map(ToString::to_string).collect(),
                env: p
                    .env()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                dynamic_connection_manager: p.dynamic_connection_manager(),
                linux: p.linux(),
                priority: p.priority(),
                memory: p.memory(),
            })
            .collect();
        let channels = table
            .channels()
            .map(|c| Channel {
                client: c.client(),
                server: c.server(),
                id: c.id().to_string(),
            })
            .collect();
        Solution {
            processes,
            channels,
        }
    }

    /// The index of the process with this task name.
    pub fn task_index(&self, task: &str) -> Option<usize> {
        self.processes.iter().position(|p| p.task == task)
    }
}
