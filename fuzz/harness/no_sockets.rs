//! The fuzz targets must never open a socket. This definition of `socket(2)` in
//! the target binary takes the place of libc's for every caller linked into it
//! (std, mio, tokio): an attempt aborts, and libFuzzer records it as a crash with
//! the input that caused it. Not used by the test suite, which needs sockets.

#[unsafe(no_mangle)]
pub extern "C" fn socket(
    _domain: libc::c_int,
    _kind: libc::c_int,
    _protocol: libc::c_int,
) -> libc::c_int {
    eprintln!("fuzz target tried to open a socket");
    std::process::abort()
}
