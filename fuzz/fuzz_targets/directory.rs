//! libFuzzer entry point of the `directory` target; the body is [`acme_fuzz::targets::directory`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acme_fuzz::targets::directory(data));
