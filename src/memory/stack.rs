//! Kernel stacks for threads.
//!
//! Interface used by the scheduler. This first version takes the stack from the heap; the
//! memory manager replaces it with frames that have an unmapped guard page below them.

use alloc::vec::Vec;

/// A thread's kernel stack; freed when dropped.
pub struct KernelStack {
    memory: Vec<u8>,
}

/// The memory manager could not provide a stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfMemory;

impl KernelStack {
    /// A stack of `size` bytes (rounded up to whole pages) for the thread called `name`.
    pub fn allocate(_name: &str, size: usize) -> Result<KernelStack, OutOfMemory> {
        let size = size.div_ceil(4096) * 4096;
        let mut memory = Vec::new();
        memory.try_reserve_exact(size).map_err(|_| OutOfMemory)?;
        memory.resize(size, 0);
        Ok(KernelStack { memory })
    }

    /// The address just past the highest byte: the initial stack pointer, 16-byte aligned.
    pub fn top(&self) -> u64 {
        (self.memory.as_ptr() as u64 + self.memory.len() as u64) & !0xf
    }

    /// The lowest usable address.
    pub fn bottom(&self) -> u64 {
        self.memory.as_ptr() as u64
    }
}
