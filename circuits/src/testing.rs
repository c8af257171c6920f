//! A counting global allocator for tests that must show bounded memory.
//!
//! Hostile-input tests assert that a tiny file cannot make a reader allocate
//! gigabytes. Timing or RSS checks are flaky; counting the bytes the process has
//! allocated is exact. A test binary installs [`PeakAlloc`] as its global
//! allocator and measures a closure with [`PeakAlloc::measure`], which reports
//! the peak of live heap bytes above the level at its start.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting live bytes and their peak.
#[derive(Debug)]
pub struct PeakAlloc {
    live: AtomicUsize,
    peak: AtomicUsize,
    /// Serializes measurements: the peak is process-wide, so two tests measuring
    /// at once would see each other's allocations.
    lock: Mutex<()>,
}

impl PeakAlloc {
    /// A new counter (for a `static` with `#[global_allocator]`).
    pub const fn new() -> PeakAlloc {
        PeakAlloc {
            live: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            lock: Mutex::new(()),
        }
    }

    /// Bytes allocated and not yet freed.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Runs `f` and returns its result with the peak of live bytes during the call
    /// above the live bytes at its start. Measurements are serialized; allocations
    /// of other threads running meanwhile are counted too.
    pub fn measure<T>(&self, f: impl FnOnce() -> T) -> (T, usize) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let base = self.live();
        self.peak.store(base, Ordering::Relaxed);
        let out = f();
        let peak = self.peak.load(Ordering::Relaxed);
        (out, peak.saturating_sub(base))
    }

    fn added(&self, n: usize) {
        let now = self.live.fetch_add(n, Ordering::Relaxed) + n;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }
}

impl Default for PeakAlloc {
    fn default() -> Self {
        PeakAlloc::new()
    }
}

// SAFETY: every call is forwarded to `System` with the same arguments; the counters
// are only bookkeeping.
unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            self.added(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            self.added(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        self.live.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds the rest.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            self.live.fetch_sub(layout.size(), Ordering::Relaxed);
            self.added(new_size);
        }
        p
    }
}
