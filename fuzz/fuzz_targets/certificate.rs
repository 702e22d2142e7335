//! libFuzzer entry point of the `certificate` target; the body is [`acme_fuzz::targets::certificate`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acme_fuzz::targets::certificate(data));
