//! libFuzzer entry point of the `roundtrip` target; the body is [`acme_fuzz::targets::roundtrip`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acme_fuzz::targets::roundtrip(data));
