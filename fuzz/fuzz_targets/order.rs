//! libFuzzer entry point of the `order` target; the body is [`acme_fuzz::targets::order`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acme_fuzz::targets::order(data));
