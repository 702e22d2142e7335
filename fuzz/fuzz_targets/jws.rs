//! libFuzzer entry point of the `jws` target; the body is [`acme_fuzz::targets::jws`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acme_fuzz::targets::jws(data));
