//! libFuzzer entry point of the `account` target; the body is [`acme_fuzz::targets::account`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acme_fuzz::targets::account(data));
