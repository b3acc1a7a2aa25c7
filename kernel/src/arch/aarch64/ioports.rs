//! I/O ports for user processes: AArch64 has none (devices are memory-mapped), so there is
//! no permission bitmap to switch; `io.ClaimPorts` is refused in [`super::reserved`].

/// Nothing to switch.
pub fn set_io_ports(_ranges: &[(u16, u16)]) {}
