//! Generates the client code of the block device interface (kl.drivers.Block, in the SDK
//! tree's `kl/drivers/`) into OUT_DIR.

fn main() {
    let sysroot = ostrog_idl::sysroot();
    ostrog_idl::generate_in_build_script(
        &sysroot.join("kl/drivers"),
        std::slice::from_ref(&sysroot),
        Some("::ostrog_rt::idl::spec_rt"),
    );
}
