//! libFuzzer entry point of the `problem` target; the body is [`acme_fuzz::targets::problem`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acme_fuzz::targets::problem(data));
