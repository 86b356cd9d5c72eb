//! Argument parsing never panics; a request it accepts either runs or says why not.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let args: Vec<String> = text.split('\0').map(str::to_string).collect();
    if let Ok(parsed) = arcs_core::cli::parse(&args) {
        // Keep each run cheap: the engine's own limits apply; skip only the largest shapes.
        let r = &parsed.request;
        if r.d_in <= 64 && r.d_out.unwrap_or(2) <= 64 {
            let _ = r.run();
        }
    }
});
