//! Building the programs of an image and packing them into the ROMFS (in progress).
