//! VfsRamFs: serves kl.Vfs on its endpoint `vfs` with the RAM file system of the `vfs`
//! library, until no client can reach it. File data lives in chunks of memory from
//! `vmm.Allocate`; ROMFS files are mapped with `romfs.Read` and `vmm.Map` while open.

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

// Generated from sysroot/kl: this program uses only part of it.
#[cfg(target_os = "none")]
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

#[cfg(target_os = "none")]
mod memory;
#[cfg(target_os = "none")]
mod rom;
#[cfg(target_os = "none")]
mod server;

#[cfg(target_os = "none")]
mod ram {
    use ostrog_rt::println;
    use vfs::fs::Fs;

    use crate::idl;
    use crate::idl::kl_vfs::VfsServer;
    use crate::memory::Ram;
    use crate::server::Server;

    ostrog_rt::main!(main);

    impl idl::kl_vfs_ram_fs::VfsRamFsEndpoints for Server<Ram> {
        fn vfs(&mut self) -> &mut dyn VfsServer {
            self
        }
    }

    fn main() -> i32 {
        let mut fs = Fs::new(Ram::default());
        // `/data`, where a solution's policy gives each class a folder of its own
        // (docs/files.md).
        if let Err(e) = fs.mkdir(0, "/data", 0o755) {
            println!("VfsRamFs: cannot make /data: errno {e}");
            return 1;
        }
        let mut server = Server {
            fs: Some(fs),
            sid: 0,
        };
        ostrog_rt::server::serve("VfsRamFs", |header, request| {
            server.sid = header.src_sid;
            idl::kl_vfs_ram_fs::dispatch(&mut server, request)
        })
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("VfsRamFs: the VFS server runs on Ostrog only (build it for a bare-metal target)");
    std::process::exit(1);
}
