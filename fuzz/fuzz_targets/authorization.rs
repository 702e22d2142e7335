//! libFuzzer entry point of the `authorization` target; the body is [`acme_fuzz::targets::authorization`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acme_fuzz::targets::authorization(data));
