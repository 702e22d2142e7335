//! libFuzzer entry point of the `key` target; the body is [`acme_fuzz::targets::key`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acme_fuzz::targets::key(data));
