//! Device drivers: each one finds its device through [`crate::pci`], owns its registers and
//! DMA memory, and offers the layers above an interface that hides both. Network cards are
//! reached through [`nic`], which chooses among them; each card's driver has its own folder.

pub mod e1000;
pub mod nic;
pub mod rtl8139;
