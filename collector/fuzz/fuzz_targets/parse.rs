//! Fuzz the exposition parser: arbitrary UTF-8 through both dialects and the checker must
//! never panic, and what parses must be self-consistent.
//!
//! Run with `cargo +nightly fuzz run parse` from `collector/`.

#![no_main]

use collector::exposition::{Format, check, detect_format, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [Format::Prometheus, Format::OpenMetrics] {
        if let Ok(exposition) = parse(text, format) {
            for family in &exposition.families {
                for sample in &family.samples {
                    assert!(sample.name.starts_with(family.name));
                }
            }
        }
        let _ = check(text, Some(format));
    }
    let _ = detect_format(text);
});
