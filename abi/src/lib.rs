//! Shared kernel/program ABI.
#![no_std]
