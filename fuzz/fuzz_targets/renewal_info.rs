//! libFuzzer entry point of the `renewal_info` target; the body is [`acme_fuzz::targets::renewal_info`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acme_fuzz::targets::renewal_info(data));
