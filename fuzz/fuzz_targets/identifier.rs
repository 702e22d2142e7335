//! libFuzzer entry point of the `identifier` target; the body is [`acme_fuzz::targets::identifier`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acme_fuzz::targets::identifier(data));
