//! The SDK as a KasperskyOS solution sees it: the boards an image is built for, and the
//! service and driver classes a solution may start by naming them in `init.yaml`.
//!
//! KasperskyOS's build knows, for each system program, the channel its clients open (the
//! SDK's `connect.yaml` files) and which boards it runs on. This table is Ostrog's copy of
//! that knowledge: the templates (`crate::expand`) fill `@INIT_..._CONNECTIONS@` from it,
//! and the check refuses, at the line of `init.yaml` that starts it, a class for which the
//! board has no program (a Raspberry Pi mailbox driver on QEMU, for instance), instead of
//! failing later with a missing executable.

use crate::arch::Arch;

/// A machine an image is built for: its name in `--board` and in templates
/// (`{% if BOARD == "qemu-aarch64" %}`), and its architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Board {
    pub name: &'static str,
    pub arch: Arch,
}

/// The boards Ostrog builds for: QEMU's `q35` PC and `virt` Arm machine.
pub const BOARDS: &[Board] = &[
    Board {
        name: "qemu-x86_64",
        arch: Arch::X86_64,
    },
    Board {
        name: "qemu-aarch64",
        arch: Arch::Aarch64,
    },
];

/// The board an architecture is built for when no `--board` is given.
pub fn default_board(arch: Arch) -> &'static Board {
    BOARDS.iter().find(|b| b.arch == arch).unwrap_or(&BOARDS[0])
}

/// The board named `name`, or a message listing the boards there are.
pub fn board(name: &str) -> Result<&'static Board, String> {
    BOARDS.iter().find(|b| b.name == name).ok_or_else(|| {
        let names: Vec<&str> = BOARDS.iter().map(|b| b.name).collect();
        format!(
            "Ostrog has no board `{name}`; it builds for {} (QEMU); a template may still \
             test BOARD against any name",
            names.join(", ")
        )
    })
}

/// A service or driver class of the SDK that a solution starts with `- name: CLASS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    /// Its class (EDL in `sysroot/`, policy package `use CLASS._`).
    pub class: &'static str,
    /// The channel id its clients open (`id:` of a connection to it); `None`: it serves no
    /// one through a channel of its own name (Klog, a daemon).
    pub channel: Option<&'static str>,
    /// The channels it opens itself: (server class, id), on the boards of that architecture
    /// only (`None`: every board).
    pub needs: &'static [(&'static str, &'static str, Option<Arch>)],
    /// Whether Ostrog has a program for it (on every QEMU board); `false`: its EDL and PSL
    /// package are there so that a policy naming it compiles, but starting it is refused.
    pub program: bool,
}

const fn ostrog(
    class: &'static str,
    channel: Option<&'static str>,
    needs: &'static [(&'static str, &'static str, Option<Arch>)],
) -> Service {
    Service {
        class,
        channel,
        needs,
        program: true,
    }
}

const fn foreign(class: &'static str, channel: Option<&'static str>) -> Service {
    Service {
        class,
        channel,
        needs: &[],
        program: false,
    }
}

const PCI: &[(&str, &str, Option<Arch>)] = &[("kl.drivers.PciBus", "pci", Some(Arch::X86_64))];

/// The SDK's services and drivers (docs/porting.md, "SDK classes").
pub const SERVICES: &[Service] = &[
    ostrog("kl.Klog", None, &[]),
    ostrog("kl.VfsRamFs", Some("vfs"), &[]),
    ostrog(
        "kl.VfsSdCardFs",
        Some("vfs"),
        &[("kl.drivers.VirtioBlk", "blk", None)],
    ),
    ostrog("kl.VfsNet", Some("net"), PCI),
    ostrog("kl.EntropyEntity", Some("entropy"), &[]),
    ostrog("kl.RtcClock", Some("clock"), &[]),
    ostrog("kl.drivers.VirtioBlk", Some("blk"), PCI),
    ostrog("kl.drivers.PciBus", Some("pci"), &[]),
    // KasperskyOS Community Edition programs Ostrog has no program for.
    foreign("kl.rump.Dhcpcd", None),
    foreign("kl.Ntpd", None),
    foreign("kl.drivers.BCM2711MboxArmToVc", None),
    foreign("kl.drivers.GPIO", None),
];

/// The service of class `class`, if it is one of the SDK's.
pub fn service(class: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.class == class)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_has_its_class_in_the_sysroot() {
        let root = ostrog_idl::sysroot();
        for s in SERVICES {
            let edl = root.join(format!("{}.edl", s.class.replace('.', "/")));
            let psl = root.join(format!("{}.psl", s.class.replace('.', "/")));
            assert!(edl.is_file(), "{} has no {}", s.class, edl.display());
            assert!(psl.is_file(), "{} has no {}", s.class, psl.display());
        }
    }

    #[test]
    fn boards_are_named_and_default_per_arch() {
        assert_eq!(default_board(Arch::Aarch64).name, "qemu-aarch64");
        assert_eq!(board("qemu-x86_64").map(|b| b.arch), Ok(Arch::X86_64));
        assert!(board("RPI4_BCM2711").unwrap_err().contains("qemu-aarch64"));
    }
}
