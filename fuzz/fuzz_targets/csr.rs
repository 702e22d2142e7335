//! libFuzzer entry point of the `csr` target; the body is [`acme_fuzz::targets::csr`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acme_fuzz::targets::csr(data));
