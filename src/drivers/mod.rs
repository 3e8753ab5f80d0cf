//! Device drivers: each one finds its device through [`crate::pci`], owns its registers and
//! DMA memory, and offers the layers above an interface that hides both.

pub mod rtl8139;
