//! libFuzzer entry point of the `flow` target; the body is [`acme_fuzz::targets::flow`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acme_fuzz::targets::flow(data));
