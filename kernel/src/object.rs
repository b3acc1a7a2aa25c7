//! Kernel objects and the per-process handle table.
//!
//! A process names kernel objects only through *handles*: small numbers that index its own
//! handle table. Each entry holds the object (by SID, never a pointer, so a dangling entry
//! can only ever find nothing) and a rights mask. A handle number carries the slot's
//! *generation* in its high 16 bits: closing a handle bumps the generation, so the old number
//! stays invalid even after the slot is reused, and a forged number finds either an empty
//! slot, a slot of another generation, or an object the process already holds anyway. Handle
//! 0 is never a table entry: it is [`ostrog_abi::handle::CORE`], the kernel's core endpoint.

use alloc::string::String;
use alloc::vec::Vec;

use ostrog_abi::handle::RIGHTS_ALL;
use ostrog_abi::Status;

use crate::sid::{ChannelId, EndpointId, IrqId, PipeId, ProcessId, RegionId, Sid};

/// What a handle names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Object {
    /// The client side of a channel (a [`crate::ipc::Channel`]).
    Channel(ChannelId),
    /// A listening endpoint of a server (a [`crate::ipc::Endpoint`]).
    Endpoint(EndpointId),
    /// A process.
    Task(ProcessId),
    /// A claimed interrupt line.
    Irq(IrqId),
    /// A shared memory region (a [`crate::core_endpoints::vmm::Region`]).
    Region(RegionId),
    /// One end of a pipe (a [`crate::core_endpoints::pipe::Pipe`]): its write end if `write`.
    Pipe { pipe: PipeId, write: bool },
}

impl Object {
    /// The SID of the object (what the security module sees instead of a handle number).
    pub fn sid(self) -> Sid {
        match self {
            Object::Channel(c) => c.sid(),
            Object::Endpoint(e) => e.sid(),
            Object::Task(p) => p.sid(),
            Object::Irq(i) => i.sid(),
            Object::Region(r) => r.sid(),
            Object::Pipe { pipe, .. } => pipe.sid(),
        }
    }
}

/// Largest number of handles one process may hold.
pub const MAX_HANDLES: usize = 1024;

struct Slot {
    generation: u16,
    entry: Option<Entry>,
}

/// A live handle.
#[derive(Clone, Debug)]
pub struct Entry {
    pub object: Object,
    pub rights: u32,
    /// The channel name Einit gave it (for `handle.Lookup`), if any.
    pub name: Option<String>,
    /// Moved by a message that is not delivered yet: the handle is the message's, and
    /// unusable here, until the message is delivered (then it is removed) or cancelled
    /// (then it is the sender's again).
    pub in_flight: bool,
}

/// A process's handle table.
#[derive(Default)]
pub struct HandleTable {
    slots: Vec<Slot>,
}

fn number(index: usize, generation: u16) -> u32 {
    // Slot indices start at 1 so that no handle number is 0 (the core endpoint).
    ((generation as u32) << 16) | (index as u32 + 1)
}

fn split(handle: u32) -> Option<(usize, u16)> {
    let index = (handle & 0xffff) as usize;
    Some((index.checked_sub(1)?, (handle >> 16) as u16))
}

impl HandleTable {
    /// Adds an entry; its handle number.
    pub fn insert(
        &mut self,
        object: Object,
        rights: u32,
        name: Option<String>,
    ) -> Result<u32, Status> {
        let entry = Entry {
            object,
            rights: rights & RIGHTS_ALL,
            name,
            in_flight: false,
        };
        if let Some((index, slot)) = self
            .slots
            .iter_mut()
            .enumerate()
            .find(|(_, s)| s.entry.is_none())
        {
            slot.entry = Some(entry);
            return Ok(number(index, slot.generation));
        }
        if self.slots.len() >= MAX_HANDLES {
            return Err(Status::NoMemory);
        }
        self.slots.push(Slot {
            generation: 0,
            entry: Some(entry),
        });
        Ok(number(self.slots.len() - 1, 0))
    }

    /// The entry a handle number names, if it is live and not in flight.
    pub fn get(&self, handle: u32) -> Result<&Entry, Status> {
        let entry = self.entry(handle)?;
        if entry.in_flight {
            return Err(Status::Busy);
        }
        Ok(entry)
    }

    /// The entry a handle number names, in flight or not.
    fn entry(&self, handle: u32) -> Result<&Entry, Status> {
        let (index, generation) = split(handle).ok_or(Status::BadHandle)?;
        match self.slots.get(index) {
            Some(Slot {
                generation: g,
                entry: Some(entry),
            }) if *g == generation => Ok(entry),
            _ => Err(Status::BadHandle),
        }
    }

    /// Marks a handle moved by an undelivered message (`true`) or the sender's again.
    pub fn set_in_flight(&mut self, handle: u32, in_flight: bool) {
        if self.entry(handle).is_ok() {
            if let Some(entry) = split(handle)
                .and_then(|(index, _)| self.slots.get_mut(index))
                .and_then(|slot| slot.entry.as_mut())
            {
                entry.in_flight = in_flight;
            }
        }
    }

    /// Removes a handle whose message was delivered (in flight or not).
    pub fn remove_moved(&mut self, handle: u32) {
        if self.entry(handle).is_ok() {
            if let Some(slot) = split(handle).and_then(|(index, _)| self.slots.get_mut(index)) {
                slot.generation = slot.generation.wrapping_add(1);
                slot.entry = None;
            }
        }
    }

    /// How many more handles the table can take.
    pub fn room(&self) -> usize {
        let empty = self.slots.iter().filter(|s| s.entry.is_none()).count();
        MAX_HANDLES
            .saturating_sub(self.slots.len())
            .saturating_add(empty)
    }

    /// The entry, which must have every right in `rights`.
    pub fn get_with(&self, handle: u32, rights: u32) -> Result<&Entry, Status> {
        let entry = self.get(handle)?;
        if entry.rights & rights != rights {
            return Err(Status::AccessDenied);
        }
        Ok(entry)
    }

    /// Closes a handle; the object it named.
    pub fn remove(&mut self, handle: u32) -> Result<Entry, Status> {
        self.get(handle)?;
        let (index, _) = split(handle).ok_or(Status::BadHandle)?;
        let slot = self.slots.get_mut(index).ok_or(Status::BadHandle)?;
        slot.generation = slot.generation.wrapping_add(1);
        slot.entry.take().ok_or(Status::BadHandle)
    }

    /// The handle named `name` by Einit.
    pub fn lookup(&self, name: &str) -> Option<u32> {
        self.slots.iter().enumerate().find_map(|(i, s)| {
            let entry = s.entry.as_ref()?;
            (entry.name.as_deref() == Some(name)).then(|| number(i, s.generation))
        })
    }

    /// The handle of this process for `object`, if it has one.
    pub fn find(&self, object: Object) -> Option<u32> {
        self.slots.iter().enumerate().find_map(|(i, s)| {
            let entry = s.entry.as_ref()?;
            (entry.object == object).then(|| number(i, s.generation))
        })
    }

    /// The table of a forked process: every handle at the same number with the same
    /// rights and name, except claimed interrupt lines (one holder only) and handles moved
    /// by a message not delivered yet (they are the message's); their slots stay empty, at
    /// the next generation, so that the old numbers name nothing in the copy.
    pub fn fork_copy(&self) -> HandleTable {
        let slots = self
            .slots
            .iter()
            .map(|s| {
                let entry = s
                    .entry
                    .as_ref()
                    .filter(|e| !e.in_flight && !matches!(e.object, Object::Irq(_)));
                match entry {
                    Some(e) => Slot {
                        generation: s.generation,
                        entry: Some(e.clone()),
                    },
                    None => Slot {
                        generation: s.generation.wrapping_add(u16::from(s.entry.is_some())),
                        entry: None,
                    },
                }
            })
            .collect();
        HandleTable { slots }
    }

    /// Every live entry.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.slots.iter().filter_map(|s| s.entry.as_ref())
    }
}
