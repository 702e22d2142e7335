//! libFuzzer entry point of the `challenge` target; the body is [`acme_fuzz::targets::challenge`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acme_fuzz::targets::challenge(data));
