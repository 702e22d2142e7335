//! libFuzzer entry point of the `pem_chain` target; the body is [`acme_fuzz::targets::pem_chain`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acme_fuzz::targets::pem_chain(data));
