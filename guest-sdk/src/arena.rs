//! A per-call bump allocator for plugins that allocate many small,
//! short-lived values per stanza (XEP-0079's `amp` builds its rules, its
//! events and the delivered `<amp>` for every AMP message).
//!
//! Why: in a component every string the host returns is a guest
//! allocation, and the plugin's own strings and vectors are more. With the
//! default allocator (wasi-libc's dlmalloc, compiled to WASM) each
//! allocation and free costs a few hundred instructions. Everything a
//! `process` call allocates is freed when the host has read its verdict
//! (post-return), so a region that hands out memory by bumping a pointer
//! and starts again from the bottom once nothing in it is alive serves the
//! whole call for a handful of instructions per allocation.
//!
//! It never fails where the system allocator would not: what does not fit
//! in the region (or arrives while it is full) comes from the system
//! allocator, and a value that outlives a call (a static cache) only keeps
//! the region from resetting, so later allocations fall back to the system
//! allocator; nothing is lost, it is only slower.
//!
//! Opt in from a plugin's crate, components only:
//! ```ignore
//! #[cfg(target_arch = "wasm32")]
//! #[global_allocator]
//! static ALLOC: wasmpp_guest_sdk::arena::CallArena = wasmpp_guest_sdk::arena::CallArena::new();
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;

/// Bytes in the region: several times what one AMP message needs, small
/// next to the per-instance memory limit (it is zero-initialised memory,
/// not part of the component's size).
pub const REGION_BYTES: usize = 64 * 1024;

#[repr(C, align(16))]
struct Region([u8; REGION_BYTES]);

struct State {
    region: Region,
    /// Offset of the first free byte.
    next: usize,
    /// Allocations from the region not yet freed.
    live: usize,
}

/// A bump region reset whenever all its allocations are freed, over the
/// system allocator (see the module docs).
pub struct CallArena {
    state: UnsafeCell<State>,
}

// SAFETY: `wasm32-wasip2` components are single-threaded: no two calls
// into the allocator can overlap. Natively the type is not `Sync`, so it
// cannot be a global allocator there (tests use a local one).
#[cfg(target_arch = "wasm32")]
unsafe impl Sync for CallArena {}

impl CallArena {
    /// An empty arena (usable in a `static`).
    pub const fn new() -> Self {
        CallArena { state: UnsafeCell::new(State { region: Region([0; REGION_BYTES]), next: 0, live: 0 }) }
    }

    /// Whether `ptr` points into the region.
    fn owns(&self, ptr: *mut u8) -> bool {
        // SAFETY: reading the region's address only.
        let base = unsafe { (*self.state.get()).region.0.as_ptr() } as usize;
        (base..base + REGION_BYTES).contains(&(ptr as usize))
    }

    /// How many region allocations are alive (for tests).
    #[cfg(test)]
    fn live(&self) -> usize {
        unsafe { (*self.state.get()).live }
    }
}

impl Default for CallArena {
    fn default() -> Self {
        Self::new()
    }
}

unsafe impl GlobalAlloc for CallArena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded (see `Sync`); no reference outlives this call.
        let s = unsafe { &mut *self.state.get() };
        let base = s.region.0.as_mut_ptr() as usize;
        let start = (base + s.next).next_multiple_of(layout.align());
        match start.checked_add(layout.size()) {
            Some(end) if end <= base + REGION_BYTES && layout.size() != 0 => {
                s.next = end - base;
                s.live += 1;
                start as *mut u8
            }
            _ => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !self.owns(ptr) {
            return unsafe { System.dealloc(ptr, layout) };
        }
        // SAFETY: as in `alloc`.
        let s = unsafe { &mut *self.state.get() };
        s.live -= 1;
        if s.live == 0 {
            s.next = 0;
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !self.owns(ptr) {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        {
            // SAFETY: as in `alloc`; the borrow ends before `alloc` below.
            let s = unsafe { &mut *self.state.get() };
            let base = s.region.0.as_mut_ptr() as usize;
            let offset = ptr as usize - base;
            // The newest allocation grows or shrinks in place.
            if offset + layout.size() == s.next && offset + new_size <= REGION_BYTES {
                s.next = offset + new_size;
                return ptr;
            }
            if new_size <= layout.size() {
                return ptr;
            }
        }
        // SAFETY: `layout.align()` is a valid alignment and `new_size` was
        // checked by the caller (GlobalAlloc::realloc's contract).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size());
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn region_resets_once_everything_is_freed() {
        let a = Box::new(CallArena::new());
        unsafe {
            let p = a.alloc(layout(10, 1));
            let q = a.alloc(layout(8, 8));
            assert!(a.owns(p) && a.owns(q));
            assert_eq!(q as usize % 8, 0);
            assert!(q as usize >= p as usize + 10, "no overlap");
            a.dealloc(p, layout(10, 1));
            assert_eq!(a.live(), 1);
            let r = a.alloc(layout(4, 4));
            assert!(r as usize > q as usize, "not reset while q lives");
            a.dealloc(q, layout(8, 8));
            a.dealloc(r, layout(4, 4));
            assert_eq!(a.live(), 0);
            assert_eq!(a.alloc(layout(10, 1)), p, "starts again at the bottom");
        }
    }

    #[test]
    fn what_does_not_fit_comes_from_the_system_allocator() {
        let a = Box::new(CallArena::new());
        unsafe {
            let big = a.alloc(layout(REGION_BYTES + 1, 1));
            assert!(!big.is_null() && !a.owns(big));
            let most = a.alloc(layout(REGION_BYTES - 8, 1));
            assert!(a.owns(most));
            let spill = a.alloc(layout(16, 8));
            assert!(!spill.is_null() && !a.owns(spill));
            spill.write_bytes(7, 16);
            a.dealloc(spill, layout(16, 8));
            a.dealloc(big, layout(REGION_BYTES + 1, 1));
            a.dealloc(most, layout(REGION_BYTES - 8, 1));
            assert_eq!(a.live(), 0);
        }
    }

    #[test]
    fn realloc_grows_the_newest_in_place_and_copies_the_others() {
        let a = Box::new(CallArena::new());
        unsafe {
            let p = a.alloc(layout(4, 1));
            p.copy_from_nonoverlapping(b"abcd".as_ptr(), 4);
            let q = a.alloc(layout(4, 1));
            let q2 = a.realloc(q, layout(4, 1), 100);
            assert_eq!(q2, q, "newest grows in place");
            let p2 = a.realloc(p, layout(4, 1), 8);
            assert_ne!(p2, p, "an older one moves");
            assert_eq!(std::slice::from_raw_parts(p2, 4), b"abcd");
            let p3 = a.realloc(p2, layout(8, 1), REGION_BYTES * 2);
            assert!(!a.owns(p3), "too big for the region: the system allocator");
            assert_eq!(std::slice::from_raw_parts(p3, 4), b"abcd");
            a.dealloc(p3, layout(REGION_BYTES * 2, 1));
            a.dealloc(q2, layout(100, 1));
            assert_eq!(a.live(), 0);
        }
    }
}
