//! libFuzzer entry point of the `time` target; the body is [`acme_fuzz::targets::time`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acme_fuzz::targets::time(data));
