//! The dynamic linker: loading a library by name and asking which file provides a symbol.

use std::ffi::{c_char, c_int, c_void, CStr};

#[repr(C)]
struct DlInfo {
    fname: *const c_char,
    fbase: *mut c_void,
    sname: *const c_char,
    saddr: *mut c_void,
}

extern "C" {
    fn dlopen(filename: *const c_char, flags: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dladdr(addr: *const c_void, info: *mut DlInfo) -> c_int;
}

const RTLD_NOW: c_int = 0x2;
const RTLD_GLOBAL: c_int = 0x100;

/// Loads library `name` with its symbols visible to later libraries; false if absent.
pub fn load_global(name: &CStr) -> bool {
    // SAFETY: a NUL-terminated name; the handle is kept open for the process's life.
    !unsafe { dlopen(name.as_ptr(), RTLD_NOW | RTLD_GLOBAL) }.is_null()
}

/// The file of the library that answers a global lookup of `symbol`, if any does.
pub fn provider_of(symbol: &CStr) -> Option<String> {
    // SAFETY: RTLD_DEFAULT (null) lookup of a NUL-terminated name; dladdr fills a plain
    // struct whose file name, when set, points at the loader's own NUL-terminated string.
    unsafe {
        let f = dlsym(std::ptr::null_mut(), symbol.as_ptr());
        if f.is_null() {
            return None;
        }
        let mut info = DlInfo { fname: std::ptr::null(), fbase: std::ptr::null_mut(), sname: std::ptr::null(), saddr: std::ptr::null_mut() };
        if dladdr(f, &mut info) == 0 || info.fname.is_null() {
            return None;
        }
        Some(CStr::from_ptr(info.fname).to_string_lossy().into_owned())
    }
}
