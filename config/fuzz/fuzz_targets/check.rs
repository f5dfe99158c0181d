//! `opscope config check` on arbitrary bytes: every input gives diagnostics, never a panic,
//! and every diagnostic renders with a position.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let checked = opscope_config::check(src, &|_| None);
    for d in &checked.diagnostics {
        let line = d.render("fuzz.toml");
        assert!(line.starts_with("fuzz.toml") || line.starts_with("env "));
    }
});
