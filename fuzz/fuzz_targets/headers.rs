//! libFuzzer entry point of the `headers` target; the body is [`acme_fuzz::targets::headers`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acme_fuzz::targets::headers(data));
