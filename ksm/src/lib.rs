//! Security-module runtime (work in progress).
#![no_std]
